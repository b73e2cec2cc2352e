/**
 * Opus over RTP (RFC 7587 §4.2): each payload is exactly one Opus packet, so depacketizing is passing it on with
 * its timestamp. Losses are counted and skipped; nothing is concealed or synthesized. Never throws.
 */

import type { Depacketizer, DepacketizerStats, Frame } from "../codec.ts";
import type { ReorderOutput } from "../../rtp/mod.ts";

/** RTP payloads of one Opus stream to Opus packets, each a keyframe with its 48 kHz RTP timestamp (RFC 7587 §4.1). */
export class OpusDepacketizer implements Depacketizer {
  /** Counters since construction; an empty payload (every Opus packet has a TOC byte, RFC 6716 §3.1) is malformed. */
  readonly stats: DepacketizerStats = { frames: 0, droppedFrames: 0, malformedPackets: 0, lostPackets: 0 };
  readonly waitingForKeyframe = false;

  /** Takes the next packet or loss in sequence order. */
  push(input: ReorderOutput): Frame[] {
    if (input.type === "loss") {
      this.stats.lostPackets += input.count;
      return [];
    }
    const { payload, timestamp } = input.packet;
    if (payload.length === 0) {
      this.stats.malformedPackets++;
      return [];
    }
    this.stats.frames++;
    return [{ timestamp, keyframe: true, data: payload }];
  }

  /** Nothing is ever held back. */
  flush(): Frame[] {
    return [];
  }
}
