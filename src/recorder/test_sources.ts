/** Test sources for the recorder's in-process tests: the clip replayed as a live source, and fresh local files. */

import { CLIP_TRACKS, clipPackets, type TimedPacket } from "../../tests/helpers/clip_packets.ts";
import { loadClip } from "../../scripts/clip.ts";
import { LocalObjects, MemoryStore, RecordingFiles } from "../storage/mod.ts";
import type { LiveSource, SourceListener, SourceMedia, SourceTrack } from "./source.ts";

const clip = await loadClip();

/**
 * A source that replays the clip's packets (of its tracks) on demand and counts keyframe requests. What a replay holds
 * back (packets a socket would still hold unread) goes out on `flush`.
 */
export class ReplaySource implements LiveSource {
  readonly id = "replay";
  readonly protocol = "whip";
  readonly streamId = "cam";
  readonly publishedAtMs = 0;
  readonly media: SourceMedia;
  constructor(readonly tracks: readonly SourceTrack[] = CLIP_TRACKS) {
    this.media = { type: "rtp", tracks };
  }
  keyframeRequests = 0;
  #listener: SourceListener | undefined;
  #heldBack: TimedPacket[] = [];
  addListener(listener: SourceListener) {
    this.#listener = listener;
    return () => (this.#listener = undefined);
  }
  flush() {
    const held = this.#heldBack;
    this.#heldBack = [];
    for (const p of held) this.#listener?.rtp(p.kind, p.packet, p.arrivalMs);
    return Promise.resolve();
  }

  requestKeyframe() {
    this.keyframeRequests++;
  }
  counters() {
    return { packets: 0, bytes: 0, keyframeRequests: this.keyframeRequests, nacks: 0, retransmissions: 0 };
  }
  /** Replays `seconds` of the clip; `at` runs once when the media passes `at.seconds`. */
  replay(seconds: number, clock: { ms: number }, at?: { seconds: number; run: () => void }) {
    this.replayPackets(clipPackets(clip, { seconds, baseMs: clock.ms }), clock, at);
  }
  /** Replays `seconds` of the clip but holds its last `heldBackSeconds` back until `flush`. */
  replayHoldingBack(seconds: number, heldBackSeconds: number, clock: { ms: number }) {
    const packets = clipPackets(clip, { seconds, baseMs: clock.ms });
    const endMs = clock.ms + (seconds - heldBackSeconds) * 1000;
    this.replayPackets(packets.filter((p) => p.arrivalMs < endMs), clock);
    this.#heldBack = packets.filter((p) => p.arrivalMs >= endMs);
  }
  /** Delivers `packets` at their arrival times, each track's first with a sender report, as publishers send. */
  replayPackets(packets: TimedPacket[], clock: { ms: number }, at?: { seconds: number; run: () => void }) {
    const startMs = clock.ms;
    const reported = new Set<string>();
    for (const p of packets) {
      if (!this.tracks.some((track) => track.kind === p.kind)) continue;
      if (!reported.has(p.kind)) {
        reported.add(p.kind);
        this.#listener?.senderReport(p.kind, {
          ntpMs: p.arrivalMs,
          rtpTimestamp: p.packet.timestamp,
          arrivalMs: p.arrivalMs,
        });
      }
      clock.ms = p.arrivalMs;
      if (at !== undefined && p.arrivalMs - startMs >= at.seconds * 1000) {
        at.run();
        at = undefined;
      }
      this.#listener?.rtp(p.kind, p.packet, p.arrivalMs);
    }
  }
}

/** Recording files on a fresh local folder, as with fs storage (the memory store stands in for the backend). */
export async function freshFiles(): Promise<RecordingFiles> {
  const local = new LocalObjects(await Deno.makeTempDir({ prefix: "liverec-session-" }));
  await local.init();
  return new RecordingFiles({ local, store: new MemoryStore() });
}
