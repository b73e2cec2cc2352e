/**
 * The seed's recording API: start, status and stop of a stream's recording under `/api/record/:stream` (or
 * `/api/record/:app/:name`).
 */

import { Hono } from "hono";
import type { Catalog } from "../catalog/mod.ts";
import { type RecordingManager, type RecordingStatus, viewJson } from "../recorder/mod.ts";
import { BadRequestError } from "../shared/errors.ts";
import { jsonBody, streamParam, streamPaths } from "./request.ts";

/** Routes under `/api/record` (the object route is mounted before these). */
export function recordRoutes(manager: RecordingManager, catalog: Catalog): Hono {
  const app = new Hono();

  // `record_id` is the id Liveman knows the recording by (live777's: the start in Unix seconds, as a string), which
  // it stores and later matches with the sync's; liverec's own id is `liverec_record_id`. Both name the recording.
  app.on("POST", streamPaths(), async (c) => {
    const streamId = streamParam(c);
    const info = await manager.start(streamId, startBody(await jsonBody(c)));
    const livemanId = catalog.get(info.record_id)?.livemanId;
    if (livemanId === undefined) return c.json(info, 200);
    return c.json({ ...info, record_id: String(livemanId), liverec_record_id: info.record_id }, 200);
  });

  app.on("GET", streamPaths(), (c) => c.json(statusJson(manager.status(streamParam(c)))));

  app.on("DELETE", streamPaths(), async (c) => c.json(await manager.stop(streamParam(c))));

  return app;
}

/** The optional JSON body `{"base_dir": "prefix"}`. */
function startBody(body: unknown): { baseDir?: string } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new BadRequestError("request body must be a JSON object");
  }
  const unknown = Object.keys(body).filter((key) => key !== "base_dir");
  if (unknown.length > 0) throw new BadRequestError(`unknown field(s) ${unknown.join(", ")} (allowed: base_dir)`);
  const baseDir = (body as { base_dir?: unknown }).base_dir;
  if (baseDir === undefined || baseDir === null) return {};
  if (typeof baseDir !== "string") {
    throw new BadRequestError(`base_dir must be a string, got ${JSON.stringify(baseDir)}`);
  }
  return { baseDir };
}

/** A recording's status in the API's snake_case, the same style as the seed's start answer. */
function statusJson(status: RecordingStatus): Record<string, unknown> {
  const { recording, streamLive, session } = status;
  if (session === undefined) return { recording, stream_live: streamLive };
  return {
    recording,
    stream_live: streamLive,
    ...viewJson(session),
    splice_deadline: session.spliceDeadline ?? null,
    storage_errors: session.storageErrors,
    last_storage_error: session.lastStorageError ?? null,
    stats: session.stats ?? null,
  };
}
