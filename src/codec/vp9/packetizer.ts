/**
 * Splits one VP9 frame (one spatial layer frame, or a whole encoder chunk, superframe or not) into RTP payloads
 * (RFC 9628 §4.1, §4.2), for the test publisher, round-trip tests and the benchmark. B goes on the first payload, E
 * on the last, the scalability structure on the first only; the other descriptor fields repeat on every payload.
 * It writes payloads, not RTP headers: the caller gives every frame of a picture the picture's timestamp and sets
 * the marker on the last payload of the picture's last frame.
 */

import { BadRequestError } from "../../shared/errors.ts";
import { type Vp9Descriptor, writeVp9Descriptor } from "./descriptor.ts";

/** How to packetize one frame. */
export interface Vp9PacketizerOptions {
  /** Largest payload in bytes, descriptor included (the RTP header is not); default 1200. */
  mtu?: number;
  /** Descriptor fields of the frame's payloads; B and E are set here. */
  descriptor: Omit<Vp9Descriptor, "sizeBytes" | "beginsFrame" | "endsFrame">;
}

/** RTP payloads carrying `frame`, in order (RFC 9628 §4.2). */
export function packetizeVp9(frame: Uint8Array, { mtu = 1200, descriptor }: Vp9PacketizerOptions): Uint8Array[] {
  if (frame.length === 0) throw new BadRequestError("VP9 packetizer: empty frame");
  const { scalability, ...repeated } = descriptor;
  const header = (first: boolean, last: boolean) =>
    writeVp9Descriptor({
      ...repeated,
      beginsFrame: first,
      endsFrame: last,
      ...(first && scalability !== undefined ? { scalability } : {}),
    });
  const firstHeaderBytes = header(true, false).length;
  if (!Number.isInteger(mtu) || mtu <= firstHeaderBytes || mtu > 0xffff) {
    throw new BadRequestError(`VP9 packetizer: mtu must be between ${firstHeaderBytes + 1} and 65535, got ${mtu}`);
  }
  const payloads: Uint8Array[] = [];
  let offset = 0;
  while (offset < frame.length) {
    const first = offset === 0;
    const room = mtu - header(first, false).length;
    const last = offset + room >= frame.length;
    const descriptorBytes = header(first, last);
    const chunk = frame.subarray(offset, offset + room);
    const payload = new Uint8Array(descriptorBytes.length + chunk.length);
    payload.set(descriptorBytes);
    payload.set(chunk, descriptorBytes.length);
    payloads.push(payload);
    offset += chunk.length;
  }
  return payloads;
}
