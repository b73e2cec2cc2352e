/**
 * The recordings index over HTTP, and MP4 exports.
 *
 * - `GET /api/recordings?stream&from&to&state&limit&offset`: the index, newest first (`{"recordings": [...]}`).
 * - `GET /api/recordings?stream&since_ts&limit`, `PATCH` and `DELETE /api/recordings`: live777's Liveman sync
 *   (`{"sessions": [...], "last_ts"}`, `{"acked"}`, `{"deleted"}`); a query with none of the index's own filters
 *   (from, to, state, offset) is a sync pull.
 * - `GET /api/recordings/:recordId`, `DELETE /api/recordings/:recordId` (objects and row),
 *   `GET /api/recordings/:recordId/mp4` (the whole recording as one MP4), `GET /api/recordings/:recordId/playback`
 *   (signed URLs of its manifests and MP4 for players that cannot send a token; see playback.ts).
 * - `GET /api/export/:stream?start=<ISO 8601 or Unix ms>&duration=<seconds>`: an MP4 of the stream from `start`,
 *   across segments, periods and recordings; `&format=fmp4` makes it a fragmented MP4 (default `mp4`: progressive).
 */

import { basename, dirname } from "node:path";
import { Hono } from "hono";
import {
  ackRequestFromJson,
  type Catalog,
  deleteKeysFromJson,
  listFilterFromQuery,
  MAX_PAGE_LIMIT,
  recordingJson,
  type RecordingRow,
  syncPageJson,
  syncQueryFromQuery,
} from "../catalog/mod.ts";
import { EXPORT_FORMATS, type ExportFormat, rangeMp4, type StoredPeriod } from "../export/mod.ts";
import { removeRecording, type WebhookOutbox } from "../events/mod.ts";
import type { Logger } from "../shared/log.ts";
import type { RecordingManager } from "../recorder/mod.ts";
import type { RecordingFiles } from "../storage/mod.ts";
import type { Clock } from "../shared/clock.ts";
import { BadRequestError, NotFoundError } from "../shared/errors.ts";
import type { PlaybackSigner } from "./playback.ts";
import { periodsOf, wholeMp4 } from "./recording_media.ts";
import { jsonBody, streamParam, streamPaths } from "./request.ts";

export interface RecordingsDeps {
  catalog: Catalog;
  files: RecordingFiles;
  manager: RecordingManager;
  clock: Clock;
  log: Logger;
  signer: PlaybackSigner;
  webhooks?: WebhookOutbox | undefined;
}

const DEFAULT_PLAYBACK_EXPIRES_S = 6 * 3600;
const MAX_PLAYBACK_EXPIRES_S = 7 * 86_400;

/** Query parameters only the index listing has; any of them makes a GET a listing, not a sync pull. */
const LIST_ONLY = ["from", "to", "state", "node_alias", "offset"];

/** Routes under `/api/recordings`. */
export function recordingsRoutes(deps: RecordingsDeps): Hono {
  const { catalog, files, clock } = deps;
  const app = new Hono();

  app.get("/", (c) => {
    const query = new URL(c.req.url).searchParams;
    if (LIST_ONLY.some((key) => query.has(key))) {
      return c.json({ recordings: catalog.list(listFilterFromQuery(query)).map(recordingJson) });
    }
    return c.json(syncPageJson(catalog.changes(syncQueryFromQuery(query))));
  });
  app.patch("/", async (c) => c.json({ acked: catalog.ack(ackRequestFromJson(await jsonBody(c))) }));
  app.delete("/", async (c) => c.json({ deleted: catalog.removeAckedFromSync(deleteKeysFromJson(await jsonBody(c))) }));

  app.get("/:recordId", (c) => c.json(recordingJson(rowOf(catalog, c.req.param("recordId")))));

  app.delete("/:recordId", async (c) => {
    const row = rowOf(catalog, c.req.param("recordId"));
    const objects = await removeRecording({ ...deps, outbox: deps.webhooks }, row, "api");
    return c.json({ deleted: true, record_id: row.recordId, objects });
  });

  app.get("/:recordId/mp4", async (c) => {
    const row = rowOf(catalog, c.req.param("recordId"));
    return mp4Response(await wholeMp4(files, row), `${row.recordId}.mp4`);
  });

  app.get("/:recordId/playback", (c) => {
    const row = rowOf(catalog, c.req.param("recordId"));
    const expiresInS = parseExpiresIn(c.req.query("expires_in"));
    const expiresAtS = Math.floor(clock.nowMs() / 1000) + expiresInS;
    const origin = new URL(c.req.url).origin;
    const url = (path: string | undefined) => {
      if (path === undefined || dirname(path) !== row.recordDir) return null;
      return origin + deps.signer.path(row.recordDir, basename(path), expiresAtS);
    };
    // A merged MP4 in the folder is served as it is; otherwise {record_id}.mp4 is merged when asked for.
    const mp4 = url(row.mp4Path) ?? url(`${row.recordDir}/${row.recordId}.mp4`);
    return c.json({
      record_id: row.recordId,
      expires_at: new Date(expiresAtS * 1000).toISOString(),
      mpd_url: url(row.mpdPath),
      hls_url: url(row.hlsPath),
      ts_url: url(row.tsPath),
      mp4_url: mp4,
    });
  });

  return app;
}

/** `GET /api/export/:stream?start&duration` (or `/api/export/:app/:name?...`). */
export function exportRoutes(deps: RecordingsDeps): Hono {
  const app = new Hono();
  app.on("GET", streamPaths(), async (c) => {
    const streamId = streamParam(c);
    const format = parseFormat(c.req.query("format"));
    const startMs = parseStart(c.req.query("start"));
    const durationS = Number(c.req.query("duration"));
    if (!Number.isFinite(durationS) || durationS <= 0) {
      throw new BadRequestError(`duration must be a positive number of seconds, got ${c.req.query("duration")}`);
    }
    const endMs = startMs + durationS * 1000;
    const rows = deps.catalog.list({
      stream: streamId,
      from: new Date(startMs).toISOString(),
      to: new Date(endMs).toISOString(),
      limit: MAX_PAGE_LIMIT,
    }).sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
    const periods: StoredPeriod[] = [];
    const folders = new Map<string, StoredPeriod[]>();
    for (const row of rows) {
      if (!folders.has(row.recordDir)) folders.set(row.recordDir, await periodsOf(deps.files, row.recordDir));
      periods.push(...folders.get(row.recordDir)!.filter((p) => p.period.recordId === row.recordId));
    }
    const range = { startMs, durationMs: durationS * 1000 };
    const mp4 = await rangeMp4((key) => deps.files.read(key), periods, range, format);
    const name = `${streamId.replace("/", "_")}_${new Date(startMs).toISOString().replace(/[:.]/g, "-")}.mp4`;
    return mp4Response(mp4, name);
  });
  return app;
}

/** `expires_in` of a playback URL in seconds: 1 s to 7 days, 6 hours when absent. */
function parseExpiresIn(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PLAYBACK_EXPIRES_S;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PLAYBACK_EXPIRES_S) {
    throw new BadRequestError(`expires_in must be whole seconds from 1 to ${MAX_PLAYBACK_EXPIRES_S}, got ${value}`);
  }
  return seconds;
}

/** The row `recordId` names: liverec's record id, or Liveman's where only one stream has it. */
function rowOf(catalog: Catalog, recordId: string): RecordingRow {
  const row = catalog.find(recordId);
  if (row === undefined) throw new NotFoundError(`no recording "${recordId}" in the index`);
  return row;
}

/** `format` of an export: one of EXPORT_FORMATS, "mp4" when absent. */
function parseFormat(value: string | undefined): ExportFormat {
  if (value === undefined) return "mp4";
  const format = EXPORT_FORMATS.find((known) => known === value);
  if (format === undefined) {
    const allowed = EXPORT_FORMATS.map((known) => JSON.stringify(known)).join(" or ");
    throw new BadRequestError(`format must be ${allowed}, got ${JSON.stringify(value)}`);
  }
  return format;
}

/** `start` as Unix milliseconds: given as such, or as an ISO 8601 time that names its zone. */
function parseStart(value: string | undefined): number {
  let ms = NaN;
  if (value !== undefined && /^\d+$/.test(value)) ms = Number(value);
  else if (value !== undefined && /(Z|[+-]\d\d:\d\d)$/.test(value)) ms = Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new BadRequestError(`start must be an ISO 8601 time with a zone or Unix milliseconds, got ${value}`);
  }
  return ms;
}

function mp4Response(bytes: Uint8Array, filename: string): Response {
  return new Response(bytes as Uint8Array<ArrayBuffer>, {
    headers: {
      "content-type": "video/mp4",
      "content-length": String(bytes.length),
      "content-disposition": `attachment; filename="${filename}"`,
    },
  });
}
