/** `createApp(deps)`: the whole HTTP surface as a Hono app, built from injected parts and holding no state. */

import process from "node:process";
import { type Handler, Hono } from "hono";
import { cors } from "hono/cors";
import type { WhipIngest } from "../ingest/mod.ts";
import type { Catalog } from "../catalog/mod.ts";
import type { RetentionStatus, WebhookOutbox } from "../events/mod.ts";
import type { LiveSource, RecordingManager, StreamHub } from "../recorder/mod.ts";
import type { Clock } from "../shared/clock.ts";
import type { FilesStatus, RecordingFiles } from "../storage/mod.ts";
import type { LogEntry, Logger } from "../shared/log.ts";
import { bearerAuth } from "./auth.ts";
import { consoleRoutes } from "./console_routes.ts";
import { errorBody, errorHandler } from "./errors.ts";
import { live777Stream } from "./live777_streams.ts";
import { measureEventLoopLagS, METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { objectRoutes } from "./object_routes.ts";
import { PlaybackSigner, playRoutes } from "./playback.ts";
import { recordRoutes } from "./record_routes.ts";
import { exportRoutes, recordingsRoutes } from "./recordings_routes.ts";
import { whipRoutes } from "./whip_routes.ts";

export interface AppDeps {
  hub: StreamHub;
  manager: RecordingManager;
  ingest: WhipIngest;
  files: RecordingFiles;
  catalog: Catalog;
  clock: Clock;
  log: Logger;
  authTokens: readonly string[];
  /** The key of signed playback URLs (16 bytes or more; see playback.ts). */
  playbackKey: Uint8Array;
  /** The last warnings and errors logged, for `GET /api/health`. */
  recentProblems?: () => LogEntry[];
  /** What retention did last, for `GET /api/storage`. */
  retention?: { readonly status: RetentionStatus };
  /** The webhook outbox, when webhooks are configured. */
  webhooks?: WebhookOutbox;
}

/** The HTTP application; serve its `fetch` (`serveHttp` in shared/runtime.ts). */
export function createApp(deps: AppDeps): Hono {
  const signer = new PlaybackSigner(deps.playbackKey);
  const app = new Hono();
  app.onError(errorHandler(deps.log));
  app.notFound((c) => c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404));
  app.use("*", cors({ origin: "*", exposeHeaders: ["Location", "Content-Range", "Content-Length", "Date"] }));
  // The time for players of a live MPD (its UTCTiming): public, as a player has no token to send.
  app.get("/api/time", (c) => {
    c.header("Cache-Control", "no-store");
    return c.text(new Date(deps.clock.nowMs()).toISOString());
  });
  app.use("/api/*", bearerAuth(deps.authTokens));
  app.use("/whip/*", bearerAuth(deps.authTokens));
  app.use("/metrics", bearerAuth(deps.authTokens));

  app.route("/", consoleRoutes());
  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/api/streams", (c) => c.json({ streams: deps.hub.list().map((s) => streamJson(deps, s)) }));
  app.get("/api/streams/", (c) => c.json(deps.hub.list().map(live777Stream)));
  app.get("/api/storage", (c) =>
    c.json({
      ...storageJson(deps.files.status()),
      retention: {
        refusing_new: deps.manager.refusing ?? null,
        full: deps.retention?.status.full ?? null,
        last_run_at: deps.retention?.status.lastRunAt ?? null,
        deleted_recordings: deps.retention?.status.deletedRecordings ?? 0,
      },
    }));
  app.get("/api/health", async (c) => {
    const disk = await deps.files.diskSpace().catch(() => undefined);
    const webhooks = deps.webhooks?.status;
    return c.json({
      uptime_s: Math.round(process.uptime()),
      recordings_running: deps.manager.list().length,
      streams_live: deps.hub.list().length,
      refusing_new: deps.manager.refusing ?? null,
      disk: disk === undefined ? null : { free_bytes: disk.freeBytes, total_bytes: disk.totalBytes },
      storage: storageJson(deps.files.status()),
      webhooks: webhooks === undefined ? null : {
        pending: webhooks.pending,
        failed_attempts: webhooks.failedAttempts,
        last_error: webhooks.lastError ?? null,
      },
      // Newest first: {time, level, message, fields}.
      recent_problems: (deps.recentProblems?.() ?? []).reverse(),
    });
  });
  app.route("/api/record/object", objectRoutes(deps.files));
  app.route("/api/record", recordRoutes(deps.manager, deps.catalog));
  app.route("/api/recordings", recordingsRoutes({ ...deps, signer }));
  app.route("/api/export", exportRoutes({ ...deps, signer }));
  app.route("/whip", whipRoutes(deps.ingest));
  app.route("/play", playRoutes({ ...deps, signer }));
  app.get("/metrics", metricsHandler(deps));
  return app;
}

/** Only `GET /metrics`, without auth: for `[http] metrics_listen`, an address kept private. */
export function createMetricsApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.onError(errorHandler(deps.log));
  app.notFound((c) => c.json(errorBody("not_found", `only GET /metrics is served here`), 404));
  app.get("/metrics", metricsHandler(deps));
  return app;
}

function metricsHandler(deps: AppDeps): Handler {
  return async (c) => {
    const lagS = await measureEventLoopLagS();
    const text = renderMetrics(deps, lagS, deps.clock.nowMs());
    return c.body(text, 200, { "Content-Type": METRICS_CONTENT_TYPE, "Cache-Control": "no-store" });
  };
}

/** One live stream for `GET /api/streams`: the publish, what it has received, and its recording if it has one. */
function streamJson(deps: AppDeps, source: LiveSource): Record<string, unknown> {
  const counters = source.counters();
  const view = deps.manager.status(source.streamId).session;
  const stats = view?.stats;
  return {
    id: source.streamId,
    protocol: source.protocol,
    tracks: source.media.tracks.map((t) => t.kind),
    codecs: source.media.tracks.map((t) => t.codec.name),
    published_at: new Date(source.publishedAtMs).toISOString(),
    live_s: Math.max(0, Math.round((deps.clock.nowMs() - source.publishedAtMs) / 1000)),
    packets_received: counters.packets,
    bytes_received: counters.bytes,
    nacks_sent: counters.nacks,
    retransmitted_packets: counters.retransmissions,
    keyframe_requests: counters.keyframeRequests,
    recording: view !== undefined,
    record_id: view?.recordId ?? null,
    recording_state: view?.state ?? null,
    rule: view?.reason ?? null,
    width: view?.videoSize?.widthPx ?? null,
    height: view?.videoSize?.heightPx ?? null,
    packets_lost: stats?.lostPackets ?? null,
    frames_recorded: stats === undefined ? null : stats.videoFrames + stats.audioFrames,
  };
}

/**
 * `GET /api/storage` in the API's snake_case. `local_bytes` is what the spool holds; with fs storage the local folder
 * is the storage root, which is not counted (null).
 */
function storageJson(status: FilesStatus): Record<string, unknown> {
  const { upload } = status;
  const isSpool = status.spoolLimitBytes !== undefined;
  return {
    backend: status.backend,
    local_dir: status.localDir,
    local_bytes: isSpool ? Math.max(0, status.localBytes) : null,
    spool_limit_bytes: status.spoolLimitBytes ?? null,
    upload: upload === undefined ? null : {
      pending_objects: upload.pendingObjects,
      pending_bytes: upload.pendingBytes,
      uploaded_objects: upload.uploadedObjects,
      failed_attempts: upload.failedAttempts,
      last_error: upload.lastError ?? null,
    },
  };
}
