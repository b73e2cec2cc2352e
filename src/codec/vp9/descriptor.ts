/**
 * The VP9 RTP payload descriptor (RFC 9628 §4.2), read and written in both modes: flexible (F = 1, reference indices
 * per packet) and non-flexible (F = 0, TL0PICIDX with the layer indices), with the scalability structure (§4.2.1)
 * when V = 1. A receiver that records needs only B, E and where the payload starts; the other fields are parsed so
 * that malformed descriptors are caught, and kept for tests and diagnostics. Values are not checked against each
 * other or against earlier packets (picture ID continuity, TL0PICIDX, the SS against the frames).
 */

import { BadRequestError } from "../../shared/errors.ts";

/** L: which layer the frame belongs to (RFC 9628 §4.2, "Layer indices"). */
export interface Vp9LayerIndices {
  /** TID, 0..7. */
  temporalId: number;
  /** U: a switching up point to a higher temporal layer. */
  switchingUpPoint: boolean;
  /** SID, 0..7. */
  spatialId: number;
  /** D: the frame depends on the next lower spatial layer of the same picture. */
  interLayerDependency: boolean;
  /** TL0PICIDX, present in non-flexible mode only. */
  tl0PicIdx?: number;
}

/** One picture of the scalability structure's picture group (RFC 9628 §4.2.1). */
export interface Vp9PictureGroupEntry {
  /** TID of the picture. */
  temporalId: number;
  /** U of the picture. */
  switchingUpPoint: boolean;
  /** Its reference pictures as P_DIFFs (1..255), at most 3. */
  referenceDiffs: number[];
}

/** SS: the stream's layer structure, sent with key pictures (RFC 9628 §4.2.1). */
export interface Vp9ScalabilityStructure {
  /** N_S + 1: the number of spatial layers, 1..8. */
  spatialLayers: number;
  /** Y: width and height of each spatial layer, lowest first. */
  resolutions?: { widthPx: number; heightPx: number }[];
  /** G: the picture group; absent when G = 0. */
  pictureGroup?: Vp9PictureGroupEntry[];
}

/** One packet's payload descriptor (RFC 9628 §4.2). */
export interface Vp9Descriptor {
  /** P: the frame predicts from an earlier picture (not only from lower spatial layers). */
  interPicturePredicted: boolean;
  /** F (only with I = 1): flexible mode, reference indices in the descriptor. */
  flexible: boolean;
  /** B: the payload starts a frame. */
  beginsFrame: boolean;
  /** E: the payload ends a frame. */
  endsFrame: boolean;
  /** Z: the frame is not used for prediction by higher spatial layers. */
  notReferenceForUpperLayers: boolean;
  /** I: the picture ID, 7 bits (M = 0) or 15 bits (M = 1). */
  pictureId?: number;
  /** L: the layer indices. */
  layer?: Vp9LayerIndices;
  /** P and F: the reference pictures as P_DIFFs, 1 to 3 of them. */
  referenceDiffs?: number[];
  /** V: the scalability structure. */
  scalability?: Vp9ScalabilityStructure;
  /** Bytes the descriptor takes; the VP9 data starts here. */
  sizeBytes: number;
}

/** Parses the descriptor at the start of `payload`; throws `BadRequestError` when it is malformed or nothing follows. */
export function parseVp9Descriptor(payload: Uint8Array): Vp9Descriptor {
  let offset = 0;
  const next = (field: string): number => {
    const byte = payload[offset++];
    if (byte === undefined) {
      throw new BadRequestError(`invalid VP9 payload descriptor: truncated before ${field} (${payload.length} bytes)`);
    }
    return byte;
  };
  const first = next("the first octet");
  const hasPictureId = (first & 0x80) !== 0;
  const hasLayer = (first & 0x20) !== 0;
  const descriptor: Vp9Descriptor = {
    interPicturePredicted: (first & 0x40) !== 0,
    // §4.2: F must be 0 without a picture ID, and receivers ignore it then.
    flexible: hasPictureId && (first & 0x10) !== 0,
    beginsFrame: (first & 0x08) !== 0,
    endsFrame: (first & 0x04) !== 0,
    notReferenceForUpperLayers: (first & 0x01) !== 0,
    sizeBytes: 0,
  };
  if (hasPictureId) {
    const high = next("the picture ID");
    descriptor.pictureId = (high & 0x80) !== 0 ? ((high & 0x7f) << 8) | next("the picture ID low octet") : high;
  }
  if (hasLayer) {
    const byte = next("the layer indices");
    descriptor.layer = {
      temporalId: byte >> 5,
      switchingUpPoint: (byte & 0x10) !== 0,
      spatialId: (byte >> 1) & 0x07,
      interLayerDependency: (byte & 0x01) !== 0,
      ...(descriptor.flexible ? {} : { tl0PicIdx: next("TL0PICIDX") }),
    };
  }
  if (descriptor.flexible && descriptor.interPicturePredicted) {
    const diffs: number[] = [];
    let more = true;
    while (more) {
      if (diffs.length === 3) throw new BadRequestError("invalid VP9 payload descriptor: more than 3 P_DIFF octets");
      const byte = next("P_DIFF");
      diffs.push(byte >> 1);
      more = (byte & 0x01) !== 0;
    }
    descriptor.referenceDiffs = diffs;
  }
  if ((first & 0x02) !== 0) {
    const byte = next("the scalability structure");
    const scalability: Vp9ScalabilityStructure = { spatialLayers: (byte >> 5) + 1 };
    if ((byte & 0x10) !== 0) {
      scalability.resolutions = [];
      for (let i = 0; i < scalability.spatialLayers; i++) {
        const widthPx = (next("WIDTH") << 8) | next("WIDTH");
        const heightPx = (next("HEIGHT") << 8) | next("HEIGHT");
        scalability.resolutions.push({ widthPx, heightPx });
      }
    }
    if ((byte & 0x08) !== 0) {
      const count = next("N_G");
      scalability.pictureGroup = [];
      for (let i = 0; i < count; i++) {
        const entry = next("a picture group entry");
        const referenceDiffs: number[] = [];
        for (let r = 0; r < ((entry >> 2) & 0x03); r++) referenceDiffs.push(next("a picture group P_DIFF"));
        scalability.pictureGroup.push({
          temporalId: entry >> 5,
          switchingUpPoint: (entry & 0x10) !== 0,
          referenceDiffs,
        });
      }
    }
    descriptor.scalability = scalability;
  }
  if (offset >= payload.length) {
    throw new BadRequestError(`invalid VP9 payload: no VP9 data after the ${offset}-byte descriptor`);
  }
  descriptor.sizeBytes = offset;
  return descriptor;
}

/** Serializes a descriptor (`sizeBytes` is ignored); picture IDs above 127 take 15 bits (RFC 9628 §4.2). */
export function writeVp9Descriptor(descriptor: Omit<Vp9Descriptor, "sizeBytes">): Uint8Array {
  const { pictureId, layer, referenceDiffs, scalability } = descriptor;
  const flexible = descriptor.flexible && pictureId !== undefined;
  const out: number[] = [
    (pictureId !== undefined ? 0x80 : 0) |
    (descriptor.interPicturePredicted ? 0x40 : 0) |
    (layer !== undefined ? 0x20 : 0) |
    (flexible ? 0x10 : 0) |
    (descriptor.beginsFrame ? 0x08 : 0) |
    (descriptor.endsFrame ? 0x04 : 0) |
    (scalability !== undefined ? 0x02 : 0) |
    (descriptor.notReferenceForUpperLayers ? 0x01 : 0),
  ];
  if (pictureId !== undefined) {
    if (pictureId > 0x7f) out.push(0x80 | ((pictureId >> 8) & 0x7f), pictureId & 0xff);
    else out.push(pictureId);
  }
  if (layer !== undefined) {
    out.push(
      ((layer.temporalId & 7) << 5) | (layer.switchingUpPoint ? 0x10 : 0) | ((layer.spatialId & 7) << 1) |
        (layer.interLayerDependency ? 1 : 0),
    );
    if (!flexible) out.push((layer.tl0PicIdx ?? 0) & 0xff);
  }
  if (flexible && descriptor.interPicturePredicted) {
    const diffs = referenceDiffs ?? [];
    if (diffs.length < 1 || diffs.length > 3) {
      throw new BadRequestError(`VP9 payload descriptor: flexible mode needs 1 to 3 P_DIFFs, got ${diffs.length}`);
    }
    diffs.forEach((diff, i) => out.push(((diff & 0x7f) << 1) | (i < diffs.length - 1 ? 1 : 0)));
  }
  if (scalability !== undefined) {
    const { spatialLayers, resolutions, pictureGroup } = scalability;
    if (!Number.isInteger(spatialLayers) || spatialLayers < 1 || spatialLayers > 8) {
      throw new BadRequestError(`VP9 scalability structure: 1 to 8 spatial layers, got ${spatialLayers}`);
    }
    if (resolutions !== undefined && resolutions.length !== spatialLayers) {
      throw new BadRequestError(
        `VP9 scalability structure: ${resolutions.length} resolutions for ${spatialLayers} layers`,
      );
    }
    if (
      pictureGroup !== undefined && (pictureGroup.length > 255 || pictureGroup.some((e) => e.referenceDiffs.length > 3))
    ) {
      throw new BadRequestError("VP9 scalability structure: at most 255 pictures of at most 3 references each");
    }
    out.push(
      ((spatialLayers - 1) << 5) | (resolutions !== undefined ? 0x10 : 0) | (pictureGroup !== undefined ? 0x08 : 0),
    );
    for (const { widthPx, heightPx } of resolutions ?? []) {
      out.push(widthPx >> 8, widthPx & 0xff, heightPx >> 8, heightPx & 0xff);
    }
    if (pictureGroup !== undefined) {
      out.push(pictureGroup.length);
      for (const entry of pictureGroup) {
        out.push(
          ((entry.temporalId & 7) << 5) | (entry.switchingUpPoint ? 0x10 : 0) | (entry.referenceDiffs.length << 2),
          ...entry.referenceDiffs,
        );
      }
    }
  }
  return Uint8Array.from(out);
}
