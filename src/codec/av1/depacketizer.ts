/**
 * Reassembles AV1 temporal units from ordered RTP packets (AV1 RTP spec §4.4, §4.5, §5): the aggregation header,
 * OBU elements with or without leb128 lengths (W), and OBUs fragmented across packets (Z, Y). Each temporal unit
 * becomes one MP4 sample (AV1 ISOBMFF binding §2.4): its OBUs with obu_has_size_field = 1, without temporal
 * delimiter, tile list, padding, redundant frame header or reserved OBUs. Anything that leaves a temporal unit
 * incomplete drops it and everything up to the next random access point. It never throws; problems are counted.
 * It does not read the Dependency Descriptor header extension and does not filter scalable layers.
 */

import type { Depacketizer, DepacketizerStats, Frame } from "../codec.ts";
import type { ReorderOutput } from "../../rtp/mod.ts";
import {
  hasReducedStillPictureHeader,
  isFrameHeader,
  isShownKeyFrame,
  type Obu,
  ObuType,
  readLeb128,
  readObu,
  sizedObuBytes,
  writeSizedObus,
} from "./obu.ts";

/** Limits for untrusted streams. */
export interface Av1DepacketizerOptions {
  /** A temporal unit growing beyond this is dropped (a sender that never ends one); default 16 MiB. */
  maxTemporalUnitBytes?: number;
}

interface PendingTemporalUnit {
  timestamp: number;
  obus: Obu[];
  /** Bytes the sample will take. */
  sizeBytes: number;
  /** Something inside is missing or corrupt; it will be dropped. */
  broken: boolean;
}

interface PendingFragment {
  chunks: Uint8Array[];
  sizeBytes: number;
}

const DEFAULT_MAX_TEMPORAL_UNIT_BYTES = 16 * 1024 * 1024;
const Z_BIT = 0x80;
const Y_BIT = 0x40;
const N_BIT = 0x08;

/** RTP payloads of one AV1 stream to temporal units as MP4 samples (AV1 RTP spec §4, §5). */
export class Av1Depacketizer implements Depacketizer {
  /** Counters since construction. */
  readonly stats: DepacketizerStats = { frames: 0, droppedFrames: 0, malformedPackets: 0, lostPackets: 0 };
  readonly #maxTemporalUnitBytes: number;
  #temporalUnit: PendingTemporalUnit | undefined;
  #fragment: PendingFragment | undefined;
  #waitingForKeyframe = true;
  #lastSequenceHeader: Obu | undefined;

  constructor(options: Av1DepacketizerOptions = {}) {
    this.#maxTemporalUnitBytes = options.maxTemporalUnitBytes ?? DEFAULT_MAX_TEMPORAL_UNIT_BYTES;
  }

  /** True until an intact random access point arrives, and again after any loss or corruption. */
  get waitingForKeyframe(): boolean {
    return this.#waitingForKeyframe;
  }

  /** The most recent complete sequence header OBU, if any. */
  get lastSequenceHeader(): Obu | undefined {
    return this.#lastSequenceHeader;
  }

  /** Takes the next packet or loss in sequence order; returns the temporal units it completes. */
  push(input: ReorderOutput): Frame[] {
    const out: Frame[] = [];
    if (input.type === "loss") {
      this.#onLoss(input.count);
      return out;
    }
    const { payload, timestamp, marker } = input.packet;
    // A timestamp change ends the pending temporal unit even without its marker (AV1 RTP spec §4.2).
    if (this.#temporalUnit !== undefined && this.#temporalUnit.timestamp !== timestamp) this.#finish(out);
    const temporalUnit = this.#temporalUnit ??= { timestamp, obus: [], sizeBytes: 0, broken: false };
    this.#readPayload(payload, temporalUnit);
    if (marker) this.#finish(out);
    return out;
  }

  /** Ends the stream: emits the pending temporal unit if it is intact. */
  flush(): Frame[] {
    const out: Frame[] = [];
    this.#finish(out);
    return out;
  }

  #onLoss(count: number): void {
    this.stats.lostPackets += count;
    if (this.#temporalUnit !== undefined) this.#temporalUnit.broken = true;
    this.#fragment = undefined;
    this.#waitingForKeyframe = true;
  }

  /** Aggregation header, then OBU elements (§4.4, §4.5); the element framing is checked whole before any is used. */
  #readPayload(payload: Uint8Array, temporalUnit: PendingTemporalUnit): void {
    const aggregationHeader = payload[0];
    if (aggregationHeader === undefined) return this.#malformed(temporalUnit);
    const continues = (aggregationHeader & Z_BIT) !== 0;
    const willContinue = (aggregationHeader & Y_BIT) !== 0;
    const elementCount = (aggregationHeader >> 4) & 0x03;
    const newSequence = (aggregationHeader & N_BIT) !== 0;
    if (newSequence && continues) return this.#malformed(temporalUnit); // N = 1 requires Z = 0 (§4.4)
    const elements: Uint8Array[] = [];
    let offset = 1;
    while (offset < payload.length) {
      if (elementCount !== 0 && elements.length === elementCount - 1) {
        elements.push(payload.subarray(offset)); // the last of W elements has no length field
        offset = payload.length;
        break;
      }
      const length = readLeb128(payload, offset);
      if (length === undefined) return this.#malformed(temporalUnit);
      offset += length.sizeBytes;
      if (length.value === 0 || offset + length.value > payload.length) return this.#malformed(temporalUnit);
      elements.push(payload.subarray(offset, offset + length.value));
      offset += length.value;
    }
    if (elements.length === 0 || (elementCount !== 0 && elements.length !== elementCount)) {
      return this.#malformed(temporalUnit);
    }
    elements.forEach((element, i) => {
      if (i === 0 && continues) {
        if (this.#fragment === undefined) {
          // The rest of an OBU whose start was lost or never sent: that OBU cannot be rebuilt.
          temporalUnit.broken = true;
          return;
        }
        this.#fragment.chunks.push(element);
        this.#fragment.sizeBytes += element.length;
      } else {
        this.#interruptFragment(temporalUnit);
        this.#fragment = { chunks: [element], sizeBytes: element.length };
      }
      if (this.#fragment.sizeBytes + temporalUnit.sizeBytes > this.#maxTemporalUnitBytes) {
        this.#dropContent(temporalUnit);
        return;
      }
      if (i === elements.length - 1 && willContinue) return;
      const { chunks, sizeBytes } = this.#fragment;
      this.#fragment = undefined;
      this.#addObu(chunks.length === 1 ? chunks[0]! : join(chunks, sizeBytes), temporalUnit);
    });
  }

  /** A new OBU starts while a fragmented one is unfinished: its end never came (Y = 1 followed by Z = 0). */
  #interruptFragment(temporalUnit: PendingTemporalUnit): void {
    if (this.#fragment === undefined) return;
    temporalUnit.broken = true;
    this.#fragment = undefined;
  }

  #malformed(temporalUnit: PendingTemporalUnit): void {
    this.stats.malformedPackets++;
    temporalUnit.broken = true;
    this.#fragment = undefined;
  }

  #dropContent(temporalUnit: PendingTemporalUnit): void {
    temporalUnit.broken = true;
    temporalUnit.obus = [];
    temporalUnit.sizeBytes = 0;
    this.#fragment = undefined;
  }

  /** One complete OBU (§4.5: obu_has_size_field is usually 0, and if 1, obu_size must match the element). */
  #addObu(bytes: Uint8Array, temporalUnit: PendingTemporalUnit): void {
    const read = readObu(bytes, 0);
    if (typeof read === "string" || read.end !== bytes.length) return this.#malformed(temporalUnit);
    const obu = read.obu;
    if (obu.type === ObuType.SequenceHeader) this.#lastSequenceHeader = obu;
    if (!keptInSample(obu.type) || temporalUnit.broken) return;
    temporalUnit.sizeBytes += sizedObuBytes(obu);
    if (temporalUnit.sizeBytes > this.#maxTemporalUnitBytes) return this.#dropContent(temporalUnit);
    temporalUnit.obus.push(obu);
  }

  #finish(out: Frame[]): void {
    const temporalUnit = this.#temporalUnit;
    if (temporalUnit === undefined) return;
    this.#temporalUnit = undefined;
    this.#interruptFragment(temporalUnit);
    if (temporalUnit.broken) {
      this.stats.droppedFrames++;
      this.#waitingForKeyframe = true;
      return;
    }
    const { obus } = temporalUnit;
    const firstFrame = obus.findIndex(isFrameHeader);
    if (firstFrame < 0) return; // sequence header or metadata alone: nothing to decode
    const keyframe = this.#asRandomAccessPoint(obus, firstFrame);
    if (this.#waitingForKeyframe && !keyframe) {
      this.stats.droppedFrames++;
      return;
    }
    this.#waitingForKeyframe = false;
    this.stats.frames++;
    out.push({ timestamp: temporalUnit.timestamp, keyframe, data: writeSizedObus(obus) });
  }

  /**
   * Whether the temporal unit is a random access point (binding §2.4): a sequence header before the first frame
   * header, which is a shown key frame. A shown key frame sent without a sequence header gets the last one seen
   * put in front, as receivers of senders that send it once would otherwise never resume after a loss.
   */
  #asRandomAccessPoint(obus: Obu[], firstFrame: number): boolean {
    const inBand = obus.findIndex((obu) => obu.type === ObuType.SequenceHeader);
    if (inBand >= 0 && inBand < firstFrame) {
      const applying = obus.findLast((obu, i) => i < firstFrame && obu.type === ObuType.SequenceHeader)!;
      return isShownKeyFrame(obus[firstFrame]!, hasReducedStillPictureHeader(applying));
    }
    const remembered = this.#lastSequenceHeader;
    if (inBand >= 0 || remembered === undefined) return false;
    if (!isShownKeyFrame(obus[firstFrame]!, hasReducedStillPictureHeader(remembered))) return false;
    obus.unshift(remembered);
    return true;
  }
}

/** OBUs an MP4 sample carries (binding §2.4): temporal delimiters, tile lists, padding, redundant frame headers and
 * reserved types are left out (decoders ignore the reserved ones; the others the binding rules out). */
function keptInSample(type: number): boolean {
  return type === ObuType.SequenceHeader || type === ObuType.FrameHeader || type === ObuType.TileGroup ||
    type === ObuType.Metadata || type === ObuType.Frame;
}

function join(chunks: Uint8Array[], sizeBytes: number): Uint8Array {
  const out = new Uint8Array(sizeBytes);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
