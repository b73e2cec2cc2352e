/**
 * Splits one VP8 frame into RTP payloads (RFC 7741 §4.2, §4.4), for the test publisher, round-trip tests and the
 * benchmark. The frame is cut into equal-as-possible chunks regardless of its partition boundaries, so only the
 * first payload has S = 1 and every payload has PID = 0, which RFC 7741 allows. It writes payloads, not RTP headers:
 * the caller sets the marker on the last one and gives all of them the frame's timestamp.
 */

import { BadRequestError } from "../../shared/errors.ts";
import { writeVp8Descriptor } from "./descriptor.ts";

/** How to packetize one frame. */
export interface Vp8PacketizerOptions {
  /** Largest payload in bytes, descriptor included (the RTP header is not); default 1200. */
  mtu?: number;
  /** A 15-bit PictureID to send in every payload (I = 1, M = 1); none when undefined. */
  pictureId?: number;
  /** Sets N: no other frame references this one. */
  nonReference?: boolean;
}

/** RTP payloads carrying `frame`, in order (RFC 7741 §4.2). */
export function packetizeVp8(
  frame: Uint8Array,
  { mtu = 1200, pictureId, nonReference = false }: Vp8PacketizerOptions = {},
): Uint8Array[] {
  if (frame.length === 0) throw new BadRequestError("VP8 packetizer: empty frame");
  const descriptorBytes = writeVp8Descriptor({
    nonReference,
    startOfPartition: true,
    partitionIndex: 0,
    ...(pictureId !== undefined ? { pictureId } : {}),
  }).length;
  if (!Number.isInteger(mtu) || mtu <= descriptorBytes || mtu > 0xffff) {
    throw new BadRequestError(`VP8 packetizer: mtu must be between ${descriptorBytes + 1} and 65535, got ${mtu}`);
  }
  const chunkBytes = mtu - descriptorBytes;
  const count = Math.ceil(frame.length / chunkBytes);
  const evenBytes = Math.ceil(frame.length / count);
  const payloads: Uint8Array[] = [];
  for (let offset = 0; offset < frame.length; offset += evenBytes) {
    const descriptor = writeVp8Descriptor({
      nonReference,
      startOfPartition: offset === 0,
      partitionIndex: 0,
      ...(pictureId !== undefined ? { pictureId } : {}),
    });
    const chunk = frame.subarray(offset, offset + evenBytes);
    const payload = new Uint8Array(descriptor.length + chunk.length);
    payload.set(descriptor);
    payload.set(chunk, descriptor.length);
    payloads.push(payload);
  }
  return payloads;
}
