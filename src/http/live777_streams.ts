/**
 * `GET /api/streams/` (with the slash) in live777's shape, the camelCase list Liveman reads to find a node's streams
 * (live777's `api::response::Stream`): liverec's own richer listing stays at `/api/streams`. A stream here has one
 * publish session and no subscribers; what liverec does not track (media counters, data channels) is left to the
 * defaults live777's types give it, or answered as live777 answers for none.
 */

import type { LiveSource } from "../recorder/mod.ts";

/** One live stream as live777 lists it; times are Unix milliseconds, a publish `leaveAt` of 0 for "not left". */
export function live777Stream(source: LiveSource): Record<string, unknown> {
  return {
    id: source.streamId,
    createdAt: source.publishedAtMs,
    publish: {
      leaveAt: 0,
      sessions: [{
        id: source.id,
        createdAt: source.publishedAtMs,
        leaveAt: 0,
        state: "connected",
        hasDataChannel: false,
      }],
    },
    // As live777 has it for a stream nobody watched yet: since its creation.
    subscribe: { leaveAt: source.publishedAtMs, sessions: [] },
    codecs: source.media.tracks.map((track) => ({ kind: track.kind, codec: track.codec.name, fmtp: "" })),
  };
}
