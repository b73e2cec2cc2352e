/** Test-only: RTP packets as the reorder buffer hands them to a depacketizer, for every codec's tests. */

import { ReorderBuffer, type ReorderOutput, type RtpPacket } from "../rtp/mod.ts";
import { bin } from "../shared/testing.ts";

/** Builds reorder-buffer outputs with consecutive extended sequence numbers. */
export class Packets {
  #sequence = 0;

  /** The next packet in sequence; a string payload is read as `bin` hex. */
  packet(payload: Uint8Array | string, timestamp: number, marker = false): ReorderOutput {
    const bytes = typeof payload === "string" ? bin(payload) : payload;
    const extendedSequence = this.#sequence++;
    const packet: RtpPacket = {
      payloadType: 96,
      sequenceNumber: extendedSequence & 0xffff,
      timestamp,
      marker,
      ssrc: 1,
      payload: bytes,
    };
    return { type: "packet", packet, extendedSequence };
  }

  /** `count` packets lost. */
  loss(count: number): ReorderOutput {
    this.#sequence += count;
    return { type: "loss", count };
  }
}

/** Everything `depacketizer` makes of `inputs`, flush included. */
export function depacketizeAll<T>(
  depacketizer: { push(input: ReorderOutput): T[]; flush(): T[] },
  inputs: readonly ReorderOutput[],
): T[] {
  return [...inputs.flatMap((input) => depacketizer.push(input)), ...depacketizer.flush()];
}

/**
 * `packets` as a network delivers them, each moved at most 5 places (the first arrives first), put back in order by
 * a ReorderBuffer: what a depacketizer is given.
 */
export function throughNetwork(random: () => number, packets: readonly RtpPacket[]): ReorderOutput[] {
  const arrival = [
    packets[0]!,
    ...packets.slice(1).map((packet, i) => ({ packet, key: i + random() * 5 })).sort((a, b) => a.key - b.key)
      .map((entry) => entry.packet),
  ];
  const buffer = new ReorderBuffer({ capacityPackets: 64, maxDelayTicks: 90_000 });
  return [...arrival.flatMap((packet) => buffer.push(packet)), ...buffer.flush()];
}
