/**
 * The recording manager: starts and stops recordings of live streams, on request (the API) or by the
 * `auto_streams` rules when streams are published, and finalizes them when publishers leave or the service stops.
 */

import { relativePathProblem, streamNameProblem, streamPatternMatches } from "../config/mod.ts";
import type { RecordingFiles } from "../storage/mod.ts";
import type { Clock } from "../shared/clock.ts";
import { BadRequestError, ConflictError, NotFoundError } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import type { StreamHub } from "./hub.ts";
import { dailyRecordDir, HLS_MULTIVARIANT_NAME } from "./layout.ts";
import { RecordingSession, type SessionStatus } from "./session.ts";
import type { LiveSource } from "./source.ts";

export interface ManagerOptions {
  hub: StreamHub;
  files: RecordingFiles;
  clock: Clock;
  log: Logger;
  autoStreams: readonly string[];
  segmentDurationMs: number;
  nodeAlias: string | undefined;
  /** Makes record ids; the default is the start time plus a random suffix. */
  newRecordId?: (nowMs: number) => string;
}

/** What starting a recording answers (the seed's fields plus the record's identity). */
export interface RecordingInfo {
  id: string;
  record_id: string;
  record_dir: string;
  mpd_path: string;
  /** The HLS multivariant playlist over the same segments. */
  hls_path: string;
  node_alias?: string;
}

/** Whether a stream is live and recorded, and the recording's details when it is. */
export interface RecordingStatus {
  recording: boolean;
  streamLive: boolean;
  session: SessionStatus | undefined;
}

/** Recordings by stream name; at most one per stream. */
export class RecordingManager {
  readonly #opts: ManagerOptions;
  readonly #sessions = new Map<string, RecordingSession>();
  /** Starts in progress, so that stop and shutdown can wait for them. */
  readonly #starting = new Map<string, Promise<RecordingInfo>>();

  constructor(opts: ManagerOptions) {
    this.#opts = opts;
    opts.hub.listen({
      published: (source) => this.#onPublished(source),
      unpublished: (source) => this.#onUnpublished(source),
    });
  }

  /** Starts recording a live stream; `baseDir` replaces the default daily folder. */
  start(streamId: string, request: { baseDir?: string } = {}): Promise<RecordingInfo> {
    const problem = streamNameProblem(streamId);
    if (problem !== undefined) return Promise.reject(new BadRequestError(problem));
    if (request.baseDir !== undefined) {
      const dirProblem = relativePathProblem(request.baseDir);
      if (dirProblem !== undefined) return Promise.reject(new BadRequestError(`base_dir: ${dirProblem}`));
    }
    const source = this.#opts.hub.get(streamId);
    if (source === undefined) {
      return Promise.reject(new NotFoundError(`stream "${streamId}" is not being published`));
    }
    if (this.#sessions.has(streamId) || this.#starting.has(streamId)) {
      return Promise.reject(new ConflictError(`stream "${streamId}" is already being recorded`));
    }
    const recordDir = request.baseDir ?? dailyRecordDir(streamId, this.#opts.clock.nowMs());
    for (const session of this.#sessions.values()) {
      if (session.status().recordDir === recordDir) {
        return Promise.reject(new ConflictError(`folder "${recordDir}" is in use by another recording`));
      }
    }
    const starting = this.#startSession(source, recordDir).finally(() => this.#starting.delete(streamId));
    this.#starting.set(streamId, starting);
    return starting;
  }

  /** The stream's recording status; `recording: false` when none runs. */
  status(streamId: string): RecordingStatus {
    const streamLive = this.#opts.hub.get(streamId) !== undefined;
    const session = this.#sessions.get(streamId)?.status();
    return { recording: session !== undefined, streamLive, session };
  }

  /** Stops and finalizes the stream's recording; NotFoundError when none runs. */
  async stop(streamId: string): Promise<RecordingInfo> {
    await this.#starting.get(streamId)?.catch(() => {});
    const session = this.#sessions.get(streamId);
    if (session === undefined) throw new NotFoundError(`stream "${streamId}" is not being recorded`);
    await session.stop();
    this.#sessions.delete(streamId);
    const status = session.status();
    this.#opts.log("info", "recording finished", {
      stream: streamId,
      recordId: status.recordId,
      seconds: status.durationS,
    });
    return this.#info(streamId, status);
  }

  /** Finalizes every recording; used on SIGINT/SIGTERM. */
  async shutdown(): Promise<void> {
    await Promise.allSettled([...this.#starting.values()]);
    await Promise.allSettled([...this.#sessions.keys()].map((streamId) => this.stop(streamId)));
  }

  async #startSession(source: LiveSource, recordDir: string): Promise<RecordingInfo> {
    const { files, clock, log, segmentDurationMs } = this.#opts;
    const recordId = (this.#opts.newRecordId ?? defaultRecordId)(clock.nowMs());
    const session = new RecordingSession({ source, files, clock, log, recordId, recordDir, segmentDurationMs });
    await session.start();
    this.#sessions.set(source.streamId, session);
    log("info", "recording started", { stream: source.streamId, recordId, mpd: session.mpdPath });
    return this.#info(source.streamId, session.status());
  }

  #info(streamId: string, status: SessionStatus): RecordingInfo {
    const nodeAlias = this.#opts.nodeAlias;
    return {
      id: streamId,
      record_id: status.recordId,
      record_dir: status.recordDir,
      mpd_path: status.mpdPath,
      hls_path: `${status.recordDir}/${HLS_MULTIVARIANT_NAME}`,
      ...(nodeAlias !== undefined ? { node_alias: nodeAlias } : {}),
    };
  }

  #onPublished(source: LiveSource): void {
    if (!this.#opts.autoStreams.some((pattern) => streamPatternMatches(pattern, source.streamId))) return;
    this.start(source.streamId).catch((error) => {
      this.#opts.log("error", "auto recording did not start", { stream: source.streamId, error: String(error) });
    });
  }

  #onUnpublished(source: LiveSource): void {
    if (!this.#sessions.has(source.streamId) && !this.#starting.has(source.streamId)) return;
    this.stop(source.streamId).catch((error) => {
      this.#opts.log("error", "recording did not stop cleanly", { stream: source.streamId, error: String(error) });
    });
  }
}

function defaultRecordId(nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `${stamp}-${crypto.randomUUID().slice(0, 8)}`;
}
