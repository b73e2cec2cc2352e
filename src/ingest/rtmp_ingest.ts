/**
 * RTMP ingest: `rtmp://HOST/APP/NAME` publishes the stream `APP/NAME` (OBS, ffmpeg, GStreamer, hardware encoders).
 * The transport is src/ingest/rtmp; this file decides publishes (name rules, `[auth] tokens` as `NAME?token=T`, one
 * publisher per stream), learns the tracks from the sequence headers (or the first frame, for MP3), and hands the
 * recorder whole frames. RTMP cannot tell an end from an interruption, so every unpublish is a lost stream: the
 * recording waits out its splice window.
 */

import { FRAME_AUDIO_CODECS, FRAME_VIDEO_CODECS, type FramedAudioFormat } from "../codec/mod.ts";
import { streamNameProblem } from "../config/mod.ts";
import type {
  FrameTrack,
  LiveSource,
  SourceCounters,
  SourceFrame,
  SourceListener,
  SourceMedia,
  StreamHub,
} from "../recorder/mod.ts";
import type { Clock } from "../shared/clock.ts";
import { errorMessage } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import { tokenChecker } from "../shared/token_check.ts";
import {
  type Amf0Value,
  type FlvRecord,
  parseAudioTag,
  parseVideoTag,
  type PublishRefusalCode,
  type RtmpConnectionInfo,
  type RtmpListenAddress,
  type RtmpPublishDecision,
  type RtmpPublishEvent,
  RtmpServer,
  type RtmpServerEvent,
} from "./rtmp/mod.ts";

/** How long after its first media a publish without metadata waits for its other track's sequence header. */
const TRACK_WAIT_MS = 1_000;
/** A connection must finish its handshake this soon, and is closed after this long without a byte. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
const IDLE_TIMEOUT_MS = 10_000;
/** At most this many frames are kept for a recording that starts later (see RtmpPublish's `#kept`). */
const MAX_KEPT_FRAMES = 3_000;
/**
 * A publish keeps every frame from its start for this long while no recording listens: an on-demand callback's
 * longest timeout (`on_demand_timeout`, 30 s at most).
 */
const KEEP_FROM_START_MS = 30_000;

export interface RtmpIngestOptions {
  hub: StreamHub;
  clock: Clock;
  log: Logger;
  /** `[auth] tokens`: when any, a publish needs `?token=` with one of them. */
  tokens: readonly string[];
}

/** The RTMP server and its publishes. */
export class RtmpIngest {
  readonly #opts: RtmpIngestOptions;
  /** Whether a stream key's `?token=` is one of `[auth] tokens`. */
  readonly #knownToken: (given: string) => boolean;
  readonly #server: RtmpServer;
  readonly #publishes = new Map<number, RtmpPublish>();

  constructor(opts: RtmpIngestOptions) {
    this.#opts = opts;
    this.#knownToken = tokenChecker(opts.tokens);
    this.#server = new RtmpServer({
      handler: {
        decidePublish: (request, connection) => this.#decide(request, connection),
        onEvent: (event, connection) => this.#onEvent(event, connection),
      },
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      idleTimeoutMs: IDLE_TIMEOUT_MS,
      logger: opts.log,
    });
  }

  /** Starts listening; resolves with the bound address (port 0 picks one). */
  listen(address: RtmpListenAddress): Promise<RtmpListenAddress> {
    return this.#server.listen(address);
  }

  /** Ends every publish and closes the server. */
  async close(): Promise<void> {
    await this.#server.close();
  }

  #decide(request: RtmpPublishEvent, connection: RtmpConnectionInfo): RtmpPublishDecision {
    const { hub, tokens, log, clock } = this.#opts;
    const streamId = request.app === "" ? request.name : `${request.app}/${request.name}`;
    const problem = streamNameProblem(streamId);
    if (problem !== undefined) return refuse("NetStream.Publish.BadName", problem);
    if (tokens.length > 0 && !this.#knownToken(request.query.get("token") ?? "")) {
      log("warn", "rtmp publish refused", {
        stream: streamId,
        reason: "invalid token",
        remote: connection.remoteAddress,
      });
      return refuse("NetStream.Publish.Unauthorized", "missing or invalid token (publish to NAME?token=TOKEN)");
    }
    const current = this.#publishes.get(connection.id);
    if (current !== undefined) {
      // Publishes are kept by connection: a second one would take over the first one's media and end.
      return refuse(
        "NetStream.Publish.BadName",
        `this connection already publishes "${current.streamId}"; publish "${streamId}" on a connection of its own`,
      );
    }
    if (hub.get(streamId) !== undefined || [...this.#publishes.values()].some((p) => p.streamId === streamId)) {
      return refuse("NetStream.Publish.BadName", `stream "${streamId}" is already being published`);
    }
    this.#publishes.set(
      connection.id,
      new RtmpPublish(streamId, clock.nowMs(), () => this.#server.flush(connection.id)),
    );
    return { accept: true };
  }

  #onEvent(event: RtmpServerEvent, connection: RtmpConnectionInfo): void {
    const publish = this.#publishes.get(connection.id);
    if (publish === undefined) return;
    const { hub, log, clock } = this.#opts;
    if (event.type === "metadata") {
      publish.metadata(event.metadata);
    } else if (event.type === "media") {
      const problem = publish.message(event.kind, event.payload, event.timestampMs, clock.nowMs());
      if (problem !== undefined) log("warn", "rtmp media dropped", { stream: publish.streamId, reason: problem });
      if (!publish.published && publish.ready(clock.nowMs())) {
        try {
          publish.publish();
          hub.publish(publish);
          log("info", "publish started", {
            stream: publish.streamId,
            protocol: "rtmp",
            tracks: publish.media.tracks.map((t) => t.kind).join("+"),
            remote: `${connection.remoteAddress}:${connection.remotePort}`,
          });
        } catch (error) {
          log("warn", "rtmp publish not started", { stream: publish.streamId, reason: errorMessage(error) });
          this.#publishes.delete(connection.id);
        }
      }
    } else if (event.type === "unpublish" || event.type === "close") {
      this.#publishes.delete(connection.id);
      if (!publish.published) return;
      log("info", "publish ended", { stream: publish.streamId, protocol: "rtmp", reason: event.reason });
      hub.unpublish(publish, "lost");
    }
  }
}

function refuse(code: PublishRefusalCode, description: string): RtmpPublishDecision {
  return { accept: false, code, description };
}

/** A frame kept for listeners that come later. */
interface KeptFrame {
  kind: "video" | "audio";
  frame: SourceFrame;
  arrivalMs: number;
}

/** One RTMP publish as a live source of frames, once its tracks are known. */
class RtmpPublish implements LiveSource {
  readonly id = crypto.randomUUID();
  readonly protocol = "rtmp";
  readonly streamId: string;
  readonly publishedAtMs: number;
  /** The tracks, fixed once the stream is published; until then what is known so far. */
  #published: SourceMedia | undefined;
  #video: (FrameTrack & { kind: "video" }) | undefined;
  #audio: (FrameTrack & { kind: "audio" }) | undefined;
  #audioConfig: { fourcc: string; config: Uint8Array } | undefined;
  /** What onMetaData said is coming: undefined when it said nothing (or never came). */
  #expects: { video: boolean; audio: boolean } | undefined;
  #firstMediaMs: number | undefined;
  /**
   * Frames a listener added later gets first. Until the first listener comes (for KEEP_FROM_START_MS at most), every
   * frame since the publish began, so that a recording whose rule takes time to decide (an on-demand callback) still
   * begins at the first frame; after that, the frames since the latest video keyframe, for a recording started
   * mid-GOP.
   */
  #kept: KeptFrame[] = [];
  #listened = false;
  /** Audio and video messages received, and their bytes. */
  #messages = 0;
  #bytes = 0;
  readonly #listeners = new Set<SourceListener>();

  constructor(streamId: string, nowMs: number, readonly flush: () => Promise<void>) {
    this.streamId = streamId;
    this.publishedAtMs = nowMs;
  }

  get media(): SourceMedia {
    if (this.#published !== undefined) return this.#published;
    const tracks: FrameTrack[] = [];
    if (this.#video !== undefined) tracks.push(this.#video);
    if (this.#audio !== undefined) tracks.push(this.#audio);
    return { type: "frames", tracks };
  }

  get published(): boolean {
    return this.#published !== undefined;
  }

  /** Fixes the tracks: a track that shows up later is not recorded. */
  publish(): void {
    this.#published = this.media;
  }

  addListener(listener: SourceListener): () => void {
    for (const { kind, frame, arrivalMs } of this.#kept) listener.frame(kind, frame, arrivalMs);
    this.#listeners.add(listener);
    this.#listened = true;
    return () => this.#listeners.delete(listener);
  }

  /** RTMP publishers send keyframes on their own schedule; there is nobody to ask. */
  requestKeyframe(): void {}

  /** TCP loses nothing: no NACKs, no retransmissions, no keyframe requests. */
  counters(): SourceCounters {
    return { packets: this.#messages, bytes: this.#bytes, keyframeRequests: 0, nacks: 0, retransmissions: 0 };
  }

  /** Takes onMetaData's `videocodecid` / `audiocodecid` as the tracks to wait for. */
  metadata(value: Amf0Value): void {
    if (!(value instanceof Map)) return;
    this.#expects = { video: value.get("videocodecid") != null, audio: value.get("audiocodecid") != null };
  }

  /** Whether the tracks are known: every track metadata announced, or both, or TRACK_WAIT_MS after the first media. */
  ready(nowMs: number): boolean {
    const haveVideo = this.#video !== undefined;
    const haveAudio = this.#audio !== undefined;
    if (!haveVideo && !haveAudio) return false;
    const expects = this.#expects;
    if (expects !== undefined && (expects.video || expects.audio)) {
      if ((!expects.video || haveVideo) && (!expects.audio || haveAudio)) return true;
    } else if (haveVideo && haveAudio) {
      return true;
    }
    return nowMs - (this.#firstMediaMs ?? nowMs) >= TRACK_WAIT_MS;
  }

  /** Takes one audio or video message; answers what was wrong with it, if anything. */
  message(kind: "video" | "audio", payload: Uint8Array, timestampMs: number, nowMs: number): string | undefined {
    this.#firstMediaMs ??= nowMs;
    this.#messages++;
    this.#bytes += payload.length;
    const records = kind === "video" ? parseVideoTag(payload, timestampMs) : parseAudioTag(payload, timestampMs);
    for (const record of records) {
      const problem = this.#record(record, nowMs);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }

  #record(record: FlvRecord, nowMs: number): string | undefined {
    if (record.type === "error") return `${record.kind}: ${record.reason}`;
    if (record.type === "ignored") return undefined;
    if (record.type === "config" && record.kind === "video") return this.#videoConfig(record.codec, record.config);
    if (record.type === "config") {
      this.#audioConfig = { fourcc: record.codec, config: record.config };
      return undefined;
    }
    if (record.type !== "frame" || record.trackId !== 0) return undefined;
    if (record.kind === "audio" && this.#audio === undefined && !this.published) {
      const problem = this.#openAudio(record.codec, record.data);
      if (problem !== undefined) return problem;
    }
    // Frames of a track that is not (yet) known, or that came after the tracks were fixed, are not recorded.
    if (!this.media.tracks.some((track) => track.kind === record.kind)) return undefined;
    const frame: SourceFrame = {
      dtsMs: record.dtsMs,
      ctsOffsetMs: record.ctsOffsetMs,
      keyframe: record.keyframe,
      data: record.data,
    };
    const keepAll = !this.#listened && nowMs - this.publishedAtMs < KEEP_FROM_START_MS;
    if (record.kind === "video" && record.keyframe && !(keepAll && this.#kept.length < MAX_KEPT_FRAMES)) {
      this.#kept = [];
    }
    if (this.#kept.length < MAX_KEPT_FRAMES) this.#kept.push({ kind: record.kind, frame, arrivalMs: nowMs });
    for (const listener of this.#listeners) listener.frame(record.kind, frame, nowMs);
    return undefined;
  }

  #videoConfig(fourcc: string, config: Uint8Array): string | undefined {
    const row = FRAME_VIDEO_CODECS.get(fourcc);
    if (row === undefined) return `video ${fourcc} is not recorded`;
    const parameterSets = row.parameterSets(config);
    if (typeof parameterSets === "string") return `video ${fourcc} configuration: ${parameterSets}`;
    if (this.#video === undefined) {
      this.#video = { kind: "video", codec: row.codec, parameterSets };
    } else if (row.codec === this.#video.codec) {
      // A new configuration (another resolution): the pipeline reads it at the next keyframe.
      this.#video.parameterSets = parameterSets;
    } else {
      return `video changed codec to ${fourcc} mid-publish; not recorded`;
    }
    return undefined;
  }

  #openAudio(fourcc: string, firstFrame: Uint8Array): string | undefined {
    const row = FRAME_AUDIO_CODECS.get(fourcc);
    if (row === undefined) return `audio ${fourcc} is not recorded`;
    const config = this.#audioConfig?.fourcc === fourcc ? this.#audioConfig.config : undefined;
    const format: FramedAudioFormat | { refused: string } = row.format(config, firstFrame);
    if ("refused" in format) return `audio: ${format.refused}`;
    this.#audio = { kind: "audio", codec: row, format };
    return undefined;
  }
}
