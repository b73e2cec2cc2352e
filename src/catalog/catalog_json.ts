/**
 * The recordings catalog as the HTTP API speaks it: rows in snake_case, live777's sync shapes, and the query strings
 * and bodies the API accepts turned into catalog queries. Pure: no database, no HTTP; bad input is a BadRequestError.
 */

import { BadRequestError } from "../shared/errors.ts";
import {
  type AckRequest,
  checkState,
  checkStream,
  checkVersion,
  isTerminal,
  type ListFilter,
  MAX_PAGE_LIMIT,
  type RecordingChange,
  type RecordingRow,
  type RecordingState,
  type SyncKey,
  type SyncPage,
  type SyncQuery,
} from "./catalog.ts";

/** A recording in the API's snake_case; absent values are `null` (`node_alias` is `null` when not configured). */
export interface RecordingJson {
  record_id: string;
  /** The id Liveman knows the recording by (live777's record id: the start in Unix seconds, unique per stream). */
  liveman_id: number;
  stream: string;
  record_dir: string;
  mpd_path: string;
  hls_path: string;
  mp4_path: string | null;
  ts_path: string | null;
  flv_path: string | null;
  started_at: string;
  ended_at: string | null;
  duration_s: number;
  state: RecordingState;
  size_bytes: number;
  segments: number;
  codecs: string[];
  node_alias: string | null;
  periods: number;
  updated_at: string;
}

/** live777's `RecordingStatus` names (`libs/api/src/recorder.rs`); `Acked` is never sent, acks are versions here. */
export type Live777Status = "Active" | "Completed" | "Failed";

/**
 * A sync entry: live777's `RecordingSession` fields (`id`, the Liveman id as a string as live777's record ids are,
 * `stream`, `start_ts` / `end_ts` in µs, `duration_ms`, `mpd_path`, `status`) plus our full record and `updated_ts`,
 * the change's version. Stock live777 Liveman ignores the extra fields.
 */
export interface SyncSessionJson extends RecordingJson {
  id: string;
  start_ts: number;
  /** null until the recording is finished or failed, as in live777. */
  end_ts: number | null;
  /** null until the recording is finished or failed, as in live777. */
  duration_ms: number | null;
  status: Live777Status;
  updated_ts: number;
}

/** live777's `PullRecordingsResponse`: `last_ts` is the cursor to send back as `since_ts`. */
export interface SyncPageJson {
  sessions: SyncSessionJson[];
  last_ts: number | null;
}

/** `row` as the API answers it. */
export function recordingJson(row: RecordingRow): RecordingJson {
  return {
    record_id: row.recordId,
    liveman_id: row.livemanId,
    stream: row.stream,
    record_dir: row.recordDir,
    mpd_path: row.mpdPath,
    hls_path: row.hlsPath,
    mp4_path: row.mp4Path ?? null,
    ts_path: row.tsPath ?? null,
    flv_path: row.flvPath ?? null,
    started_at: row.startedAt,
    ended_at: row.endedAt ?? null,
    duration_s: row.durationS,
    state: row.state,
    size_bytes: row.sizeBytes,
    segments: row.segments,
    codecs: [...row.codecs],
    node_alias: row.nodeAlias ?? null,
    periods: row.periods,
    updated_at: row.updatedAt,
  };
}

/** The live777 status of `state`: a recording waiting for its publisher is still active. */
function live777Status(state: RecordingState): Live777Status {
  switch (state) {
    case "recording":
    case "waiting":
      return "Active";
    case "finished":
      return "Completed";
    case "failed":
      return "Failed";
  }
}

/** One sync entry for `GET /api/recordings`. */
export function syncSessionJson(change: RecordingChange): SyncSessionJson {
  const { row } = change;
  const ended = isTerminal(row.state);
  return {
    id: String(row.livemanId),
    start_ts: Date.parse(row.startedAt) * 1000,
    end_ts: ended && row.endedAt !== undefined ? Date.parse(row.endedAt) * 1000 : null,
    duration_ms: ended ? Math.round(row.durationS * 1000) : null,
    status: live777Status(row.state),
    ...recordingJson(row),
    updated_ts: change.changeTs,
  };
}

/** The body of `GET /api/recordings`. */
export function syncPageJson(page: SyncPage): SyncPageJson {
  return { sessions: page.changes.map(syncSessionJson), last_ts: page.lastTs ?? null };
}

/** `GET /api/recordings?stream=&state=&from=&to=&limit=&offset=` as a filter; bad values are BadRequestErrors. */
export function listFilterFromQuery(query: URLSearchParams): ListFilter {
  const params = queryParams(query, ["stream", "state", "node_alias", "from", "to", "limit", "offset"]);
  const filter: ListFilter = {};
  if (params.stream !== undefined) filter.stream = checkStream(params.stream);
  if (params.state !== undefined) filter.state = checkState(params.state);
  if (params.node_alias !== undefined) filter.nodeAlias = params.node_alias;
  if (params.from !== undefined) filter.from = params.from;
  if (params.to !== undefined) filter.to = params.to;
  if (params.limit !== undefined) filter.limit = queryInteger("limit", params.limit);
  if (params.offset !== undefined) filter.offset = queryInteger("offset", params.offset);
  return filter;
}

/** live777's pull query `?stream=&since_ts=&limit=` (`PullRecordingsRequest`); `limit=0` means the default, as there. */
export function syncQueryFromQuery(query: URLSearchParams): SyncQuery {
  const params = queryParams(query, ["stream", "since_ts", "limit"]);
  const sync: SyncQuery = {};
  if (params.stream !== undefined) sync.stream = checkStream(params.stream);
  if (params.since_ts !== undefined) sync.sinceTs = queryInteger("since_ts", params.since_ts);
  if (params.limit !== undefined) {
    const limit = queryInteger("limit", params.limit);
    if (limit !== 0) sync.limit = limit;
  }
  return sync;
}

/**
 * live777's ack body `{"records": [{"stream": "s", "record": "id"}]}` (`AckRecordingsRequest`), extended with an
 * optional `"up_to_ts"` (a page's `last_ts`) and, for a records-less cursor ack, `"stream"`. `record_id` is
 * accepted for `record`.
 */
export function ackRequestFromJson(body: unknown): AckRequest {
  const object = jsonObject(body, ["records", "up_to_ts", "stream"]);
  const request: AckRequest = {};
  if (object.records !== undefined) request.keys = syncKeysFromJson(object.records);
  if (object.up_to_ts !== undefined) {
    if (typeof object.up_to_ts !== "number") {
      throw new BadRequestError(`up_to_ts must be a number, got ${JSON.stringify(object.up_to_ts)}`);
    }
    request.upToTs = checkVersion("up_to_ts", object.up_to_ts);
  }
  if (object.stream !== undefined) request.stream = checkStream(object.stream as string);
  if (request.keys === undefined && request.upToTs === undefined) {
    throw new BadRequestError('an ack needs "records" or "up_to_ts"');
  }
  return request;
}

/** live777's delete body `{"records": [{"stream": "s", "record": "id"}]}` (`DeleteRecordingsRequest`). */
export function deleteKeysFromJson(body: unknown): SyncKey[] {
  const object = jsonObject(body, ["records"]);
  if (object.records === undefined) throw new BadRequestError('a delete needs "records"');
  return syncKeysFromJson(object.records);
}

function syncKeysFromJson(records: unknown): SyncKey[] {
  if (!Array.isArray(records)) throw new BadRequestError(`records must be an array, got ${JSON.stringify(records)}`);
  if (records.length > MAX_PAGE_LIMIT) {
    throw new BadRequestError(`records may name at most ${MAX_PAGE_LIMIT} recordings, got ${records.length}`);
  }
  return records.map((entry, i) => {
    const key = jsonObject(entry, ["stream", "record", "record_id"], `records[${i}]`);
    if ((key.record === undefined) === (key.record_id === undefined)) {
      throw new BadRequestError(`records[${i}] needs exactly one of "record" and "record_id"`);
    }
    const recordId = key.record ?? key.record_id;
    if (typeof recordId !== "string" || recordId === "") {
      throw new BadRequestError(`records[${i}].record must be a non-empty string, got ${JSON.stringify(recordId)}`);
    }
    if (key.stream === undefined) return { recordId };
    if (typeof key.stream !== "string" || key.stream === "") {
      throw new BadRequestError(`records[${i}].stream must be a non-empty string, got ${JSON.stringify(key.stream)}`);
    }
    return { recordId, stream: key.stream };
  });
}

function jsonObject(value: unknown, allowed: readonly string[], what = "request body"): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BadRequestError(`${what} must be a JSON object, got ${JSON.stringify(value)}`);
  }
  const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw new BadRequestError(`${what} has unknown field(s) ${unknown.join(", ")} (allowed: ${allowed.join(", ")})`);
  }
  return value as Record<string, unknown>;
}

function queryParams<K extends string>(query: URLSearchParams, allowed: readonly K[]): Partial<Record<K, string>> {
  const params: Partial<Record<K, string>> = {};
  for (const name of new Set(query.keys())) {
    if (!(allowed as readonly string[]).includes(name)) {
      throw new BadRequestError(`unknown query parameter ${JSON.stringify(name)} (allowed: ${allowed.join(", ")})`);
    }
    const values = query.getAll(name);
    if (values.length > 1) throw new BadRequestError(`query parameter ${name} is given ${values.length} times`);
    params[name as K] = values[0];
  }
  return params;
}

function queryInteger(name: string, text: string): number {
  if (!/^\d{1,16}$/.test(text)) {
    throw new BadRequestError(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}
