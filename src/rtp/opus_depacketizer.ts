/**
 * Opus over RTP (RFC 7587 §4.2): each payload is exactly one Opus packet, so depacketizing is passing it on with
 * its timestamp. Losses are counted and skipped; nothing is concealed or synthesized. Never throws.
 */

import type { ReorderOutput } from "./reorder_buffer.ts";

/** One Opus packet (RFC 6716 §3) with the RTP timestamp of its first sample, in 48 kHz ticks (RFC 7587 §4.1). */
export interface OpusAccessUnit {
  /** RTP timestamp as sent (32 bits). */
  timestamp: number;
  /** The Opus packet, a view into the RTP payload. */
  data: Uint8Array;
}

/** Counters since construction. */
export interface OpusDepacketizerStats {
  /** Opus packets emitted. */
  accessUnits: number;
  /** Packets reported lost by the reorder buffer. */
  lostPackets: number;
  /** Empty payloads, ignored: every Opus packet starts with a TOC byte (RFC 6716 §3.1). */
  emptyPackets: number;
}

/** RTP payloads of one Opus stream to Opus packets. */
export class OpusDepacketizer {
  /** Counters since construction. */
  readonly stats: OpusDepacketizerStats = { accessUnits: 0, lostPackets: 0, emptyPackets: 0 };

  /** Takes the next packet or loss in sequence order. */
  push(input: ReorderOutput): OpusAccessUnit[] {
    if (input.type === "loss") {
      this.stats.lostPackets += input.count;
      return [];
    }
    const { payload, timestamp } = input.packet;
    if (payload.length === 0) {
      this.stats.emptyPackets++;
      return [];
    }
    this.stats.accessUnits++;
    return [{ timestamp, data: payload }];
  }

  /** Nothing is ever held back. */
  flush(): OpusAccessUnit[] {
    return [];
  }
}
