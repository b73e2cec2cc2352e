/**
 * The recordings catalog: one SQLite row per recording (Deno's built-in `node:sqlite`), listed newest first for the
 * API and kept in step with Liveman through live777's pull / ack / delete sync. It holds index values only, never
 * media, and knows nothing of HTTP (the API's JSON shapes and query parsing are in catalog_json.ts).
 *
 * The sync differs from live777's `liveion/src/recorder/index.rs` in one deliberate way: live777 acknowledges a
 * recording by key, turns its status into `Acked` and lets Liveman delete it, so a recording acked while still
 * active loses its final state (`update_status` finds no entry once Liveman has deleted it, and a finish that lands
 * between Liveman's pull and its ack is acked unseen). Here every change gets a strictly increasing version
 * (`change_ts`, µs), an ack records the version it acknowledges, a row is in the sync while its newest version is
 * unacknowledged, and only finished or failed rows whose newest version is acknowledged can be taken out of it.
 * Liveman's delete never deletes a row: the catalog is also what liverec's own API lists, serves and exports.
 */

import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { assert } from "../shared/assert.ts";
import type { Clock } from "../shared/clock.ts";
import { BadRequestError, ConflictError, errorMessage, StorageError } from "../shared/errors.ts";

/** The schema version stored in `PRAGMA user_version`; a newer file is refused rather than misread. */
export const CATALOG_SCHEMA_VERSION = 3;

/** Rows per page when a list or sync query names no limit (live777's `list_sessions` default too). */
const DEFAULT_PAGE_LIMIT = 100;

/** The largest page a list or sync query may ask for. */
export const MAX_PAGE_LIMIT = 1000;

/** Where a recording is in its life. */
export type RecordingState =
  | "recording"
  /** The publisher is gone and the recording waits inside the splice window for it to come back. */
  | "waiting"
  | "finished"
  | "failed";

/** Every state, in life order. */
const RECORDING_STATES: readonly RecordingState[] = ["recording", "waiting", "finished", "failed"];

/** Whether `state` is one a recording never leaves (finished or failed): only such rows can be deleted. */
export function isTerminal(state: RecordingState): boolean {
  return state === "finished" || state === "failed";
}

/** One recording as the catalog stores it. Times are UTC ISO 8601 with milliseconds. */
export interface RecordingRow {
  recordId: string;
  /**
   * The id Liveman knows the recording by, as live777 makes its record ids: the start in Unix seconds, unique per
   * stream (a second later than that when another recording of the stream started in the same second). Set by the
   * catalog when the row is first written.
   */
  livemanId: number;
  stream: string;
  /** Storage key prefix of the recording's objects. */
  recordDir: string;
  mpdPath: string;
  hlsPath: string;
  /** The progressive MP4, once one has been written. */
  mp4Path: string | undefined;
  /** The MPEG-TS playlist (format "ts"). */
  tsPath: string | undefined;
  /** The FLV file (format "flv"), once it has its final name. */
  flvPath: string | undefined;
  startedAt: string;
  endedAt: string | undefined;
  durationS: number;
  state: RecordingState;
  sizeBytes: number;
  segments: number;
  /** RFC 6381 codec strings, e.g. `["avc1.42e01f", "opus"]`. */
  codecs: string[];
  /** `recorder.node_alias`, undefined when not configured. */
  nodeAlias: string | undefined;
  periods: number;
  /** The clock's time of the row's newest change, set by the catalog. */
  updatedAt: string;
}

/** What the recorder hands to `upsert`: a row without the catalog's own `updatedAt` and `livemanId`. */
export type RecordingInput = Omit<RecordingRow, "updatedAt" | "livemanId">;

/** The API's list query; `from` / `to` select recordings whose [startedAt, endedAt or now] overlaps them. */
export interface ListFilter {
  stream?: string;
  from?: string;
  to?: string;
  state?: RecordingState;
  nodeAlias?: string;
  /** Default 100, at most 1000. */
  limit?: number;
  offset?: number;
}

/** Liveman's pull: unacknowledged changes newer than `sinceTs`, oldest first. */
export interface SyncQuery {
  stream?: string;
  /** A previous page's `lastTs` (µs); every unacknowledged change when absent. */
  sinceTs?: number;
  /** Default 100, at most 1000. */
  limit?: number;
}

/** A row as the sync delivers it, with the version of the change it shows. */
export interface RecordingChange {
  row: RecordingRow;
  /** The row's version: µs since the epoch, strictly increasing over every change in the catalog. */
  changeTs: number;
}

/** One page of the sync. */
export interface SyncPage {
  changes: RecordingChange[];
  /** The newest `changeTs` in the page (the cursor for the next pull); undefined when the page is empty. */
  lastTs: number | undefined;
}

/** A recording named by an ack or delete; when `stream` is given it must match too (live777 keys are stream/record). */
export interface SyncKey {
  recordId: string;
  stream?: string;
}

/**
 * Liveman's acknowledgement. With `keys`, each named row is acknowledged up to `upToTs`, or when that is absent up
 * to the change the sync last delivered for it (what stock live777 Liveman, which sends no version, has seen).
 * Without `keys`, every change up to `upToTs` (of `stream`, when given) is acknowledged, cursor-style.
 */
export interface AckRequest {
  keys?: readonly SyncKey[];
  stream?: string;
  upToTs?: number;
}

/** A row as SQLite returns it; the table is STRICT, so the column types hold. */
interface StoredRow {
  record_id: string;
  stream: string;
  record_dir: string;
  mpd_path: string;
  hls_path: string;
  mp4_path: string | null;
  ts_path: string | null;
  flv_path: string | null;
  started_ms: number;
  ended_ms: number | null;
  duration_s: number;
  state: RecordingState;
  size_bytes: number;
  segments: number;
  codecs: string;
  node_alias: string | null;
  periods: number;
  updated_ms: number;
  change_ts: number;
  delivered_ts: number;
  acked_ts: number;
  sync_removed: number;
  liveman_id: number;
}

const SCHEMA_V1 = `
  CREATE TABLE recordings (
    record_id TEXT PRIMARY KEY NOT NULL,
    stream TEXT NOT NULL,
    record_dir TEXT NOT NULL,
    mpd_path TEXT NOT NULL,
    hls_path TEXT NOT NULL,
    mp4_path TEXT,
    started_ms INTEGER NOT NULL,
    ended_ms INTEGER,
    duration_s REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('recording', 'waiting', 'finished', 'failed')),
    size_bytes INTEGER NOT NULL,
    segments INTEGER NOT NULL,
    codecs TEXT NOT NULL,
    node_alias TEXT,
    periods INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    change_ts INTEGER NOT NULL,
    delivered_ts INTEGER NOT NULL DEFAULT 0,
    acked_ts INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  CREATE INDEX recordings_by_start ON recordings (started_ms DESC, record_id DESC);
  CREATE INDEX recordings_by_stream ON recordings (stream, started_ms DESC);
  CREATE UNIQUE INDEX recordings_by_change ON recordings (change_ts);
  CREATE TABLE catalog_meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) STRICT;
  INSERT INTO catalog_meta (key, value) VALUES ('last_change_ts', 0);
`;

/** Version 2: the MPEG-TS playlist and the FLV file of formats "ts" and "flv". */
const SCHEMA_V2 = `
  ALTER TABLE recordings ADD COLUMN ts_path TEXT;
  ALTER TABLE recordings ADD COLUMN flv_path TEXT;
`;

/**
 * Version 3: Liveman's sync delete takes a row out of the sync feed only (`sync_removed`), where it used to delete it
 * from the catalog that liverec's own API serves; the id Liveman knows a recording by (`liveman_id`, filled in for
 * older rows by `migrate`).
 */
const SCHEMA_V3 = `
  ALTER TABLE recordings ADD COLUMN sync_removed INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE recordings ADD COLUMN liveman_id INTEGER NOT NULL DEFAULT 0;
`;
const LIVEMAN_ID_INDEX = "CREATE UNIQUE INDEX recordings_by_liveman_id ON recordings (stream, liveman_id)";

const TERMINAL_STATES_SQL = "state IN ('finished', 'failed')";

/** The recordings index of this node; synchronous, one connection, safe to share within the process. */
export class Catalog {
  readonly #db: DatabaseSync;
  readonly #clock: Clock;
  /** Each SQL text prepared once: a row is written per segment of every recording, and preparing costs more. */
  readonly #statements = new Map<string, StatementSync>();

  private constructor(db: DatabaseSync, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  /** Opens (creating or migrating) the catalog at `path`, a file or `":memory:"`; files use WAL. */
  static open(path: string, clock: Clock): Catalog {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (cause) {
      throw new StorageError(`cannot open the catalog at ${JSON.stringify(path)}: ${errorMessage(cause)}`, { cause });
    }
    try {
      if (path !== ":memory:") db.exec("PRAGMA journal_mode = WAL");
      // FULL: a row the API has reported must survive a power cut, and the catalog writes a few rows a second.
      db.exec("PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000");
      migrate(db, path);
    } catch (cause) {
      db.close();
      if (cause instanceof StorageError) throw cause;
      throw new StorageError(`cannot open the catalog at ${JSON.stringify(path)}: ${errorMessage(cause)}`, { cause });
    }
    return new Catalog(db, clock);
  }

  /** Inserts or updates the row of `input.recordId`; a real change gets a new version, an identical one does not. */
  upsert(input: RecordingInput): RecordingRow {
    checkInput(input);
    return this.#transaction(() => this.#upsert(input));
  }

  /** `upsert` for each input, in one transaction (one commit, one sync of the file). */
  upsertAll(inputs: readonly RecordingInput[]): RecordingRow[] {
    for (const input of inputs) checkInput(input);
    return this.#transaction(() => inputs.map((input) => this.#upsert(input)));
  }

  #upsert(input: RecordingInput): RecordingRow {
    const startedMs = Date.parse(input.startedAt);
    const endedMs = input.endedAt === undefined ? null : Date.parse(input.endedAt);
    const existing = this.#stored(input.recordId);
    if (existing !== undefined && sameContent(existing, input, startedMs, endedMs)) return rowOf(existing);
    const nowMs = this.#clock.nowMs();
    const changeTs = this.#nextChangeTs(nowMs);
    const livemanId = existing?.liveman_id ?? this.#freeLivemanId(input.stream, startedMs);
    const stored = this.#prepared(
      `INSERT INTO recordings (record_id, stream, record_dir, mpd_path, hls_path, mp4_path, ts_path, flv_path,
         started_ms, ended_ms, duration_s, state, size_bytes, segments, codecs, node_alias, periods, updated_ms,
         change_ts, liveman_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (record_id) DO UPDATE SET
         stream = excluded.stream, record_dir = excluded.record_dir, mpd_path = excluded.mpd_path,
         hls_path = excluded.hls_path, mp4_path = excluded.mp4_path, ts_path = excluded.ts_path,
         flv_path = excluded.flv_path, started_ms = excluded.started_ms,
         ended_ms = excluded.ended_ms, duration_s = excluded.duration_s, state = excluded.state,
         size_bytes = excluded.size_bytes, segments = excluded.segments, codecs = excluded.codecs,
         node_alias = excluded.node_alias, periods = excluded.periods, updated_ms = excluded.updated_ms,
         change_ts = excluded.change_ts, sync_removed = 0
       RETURNING *`,
    ).get(
      input.recordId,
      input.stream,
      input.recordDir,
      input.mpdPath,
      input.hlsPath,
      input.mp4Path ?? null,
      input.tsPath ?? null,
      input.flvPath ?? null,
      startedMs,
      endedMs,
      input.durationS,
      input.state,
      input.sizeBytes,
      input.segments,
      JSON.stringify(input.codecs),
      input.nodeAlias ?? null,
      input.periods,
      nowMs,
      changeTs,
      livemanId,
    ) as StoredRow | undefined;
    assert(stored !== undefined, "upsert returned no row");
    return rowOf(stored);
  }

  /** The row of `recordId`, if the catalog has one. */
  get(recordId: string): RecordingRow | undefined {
    const stored = this.#stored(recordId);
    return stored === undefined ? undefined : rowOf(stored);
  }

  /**
   * The row `id` names: liverec's record id, or Liveman's (Unix seconds, digits only) within `stream`, or without a
   * stream when only one stream has a recording of that id (ConflictError when several have).
   */
  find(id: string, stream?: string): RecordingRow | undefined {
    const stored = this.#find(id, stream);
    return stored === undefined ? undefined : rowOf(stored);
  }

  /** How many rows are in each state. */
  countByState(): Record<RecordingState, number> {
    const counts = Object.fromEntries(RECORDING_STATES.map((state) => [state, 0])) as Record<RecordingState, number>;
    const rows = this.#prepared("SELECT state, COUNT(*) AS n FROM recordings GROUP BY state").all();
    for (const { state, n } of rows as { state: RecordingState; n: number }[]) counts[state] = n;
    return counts;
  }

  /** Rows matching `filter`, newest start first (ties by record id, descending). */
  list(filter: ListFilter = {}): RecordingRow[] {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (filter.stream !== undefined) {
      where.push("stream = ?");
      params.push(checkStream(filter.stream));
    }
    if (filter.state !== undefined) {
      where.push("state = ?");
      params.push(checkState(filter.state));
    }
    if (filter.nodeAlias !== undefined) {
      where.push("node_alias = ?");
      params.push(filter.nodeAlias);
    }
    const fromMs = filter.from === undefined ? undefined : checkTime("from", filter.from);
    const toMs = filter.to === undefined ? undefined : checkTime("to", filter.to);
    if (fromMs !== undefined && toMs !== undefined && fromMs > toMs) {
      throw new BadRequestError(`from (${filter.from}) must not be after to (${filter.to})`);
    }
    if (fromMs !== undefined) {
      where.push("COALESCE(ended_ms, ?) >= ?");
      params.push(this.#clock.nowMs(), fromMs);
    }
    if (toMs !== undefined) {
      where.push("started_ms <= ?");
      params.push(toMs);
    }
    params.push(checkLimit(filter.limit), checkOffset(filter.offset));
    const rows = this.#prepared(
      `SELECT * FROM recordings ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY started_ms DESC, record_id DESC LIMIT ? OFFSET ?`,
    ).all(...params) as unknown as StoredRow[];
    return rows.map(rowOf);
  }

  /** Liveman's pull: rows whose newest change is unacknowledged and newer than `sinceTs`, oldest change first. */
  changes(query: SyncQuery = {}): SyncPage {
    const where = ["acked_ts < change_ts", "sync_removed = 0", "change_ts > ?"];
    const params: SQLInputValue[] = [query.sinceTs === undefined ? 0 : checkVersion("since_ts", query.sinceTs)];
    if (query.stream !== undefined) {
      where.push("stream = ?");
      params.push(checkStream(query.stream));
    }
    params.push(checkLimit(query.limit));
    return this.#transaction(() => {
      const rows = this.#prepared(
        `SELECT * FROM recordings WHERE ${where.join(" AND ")} ORDER BY change_ts ASC LIMIT ?`,
      ).all(...params) as unknown as StoredRow[];
      // Remember what was delivered, so that an ack without a version cannot acknowledge a change nobody saw.
      const delivered = this.#prepared("UPDATE recordings SET delivered_ts = ? WHERE record_id = ?");
      for (const row of rows) delivered.run(row.change_ts, row.record_id);
      const last = rows.at(-1);
      return {
        changes: rows.map((row) => ({ row: rowOf(row), changeTs: row.change_ts })),
        lastTs: last?.change_ts,
      };
    });
  }

  /** Records Liveman's acknowledgement (see `AckRequest`); returns how many rows became fully acknowledged. */
  ack(request: AckRequest): number {
    const upToTs = request.upToTs === undefined ? undefined : checkVersion("up_to_ts", request.upToTs);
    const stream = request.stream === undefined ? undefined : checkStream(request.stream);
    if (request.keys === undefined) {
      if (upToTs === undefined) throw new BadRequestError("an ack needs records or up_to_ts");
      const streamSql = stream === undefined ? "" : " AND stream = ?";
      const params: SQLInputValue[] = stream === undefined ? [upToTs] : [upToTs, stream];
      return Number(
        this.#prepared(
          `UPDATE recordings SET acked_ts = change_ts WHERE acked_ts < change_ts AND change_ts <= ?${streamSql}`,
        ).run(...params).changes,
      );
    }
    const keys = checkKeys(request.keys);
    return this.#transaction(() => {
      const mark = this.#prepared("UPDATE recordings SET acked_ts = change_ts WHERE record_id = ?");
      let acked = 0;
      for (const key of keys) {
        const found = this.#findKey(key);
        if (found === undefined || !streamMatches(key, found.stream, stream)) continue;
        if (found.acked_ts >= found.change_ts || found.change_ts > (upToTs ?? found.delivered_ts)) continue;
        mark.run(found.record_id);
        acked++;
      }
      return acked;
    });
  }

  /**
   * Liveman's delete: takes finished or failed rows whose newest change is acknowledged (all such rows when `keys` is
   * absent) out of the sync feed; they stay in the catalog. A row changed since its ack, or still recording, stays
   * in the feed, and a later change brings a removed row back. Returns how many rows were taken out.
   */
  removeAckedFromSync(keys?: readonly SyncKey[]): number {
    const removable = `sync_removed = 0 AND acked_ts >= change_ts AND ${TERMINAL_STATES_SQL}`;
    const remove = `UPDATE recordings SET sync_removed = 1 WHERE ${removable}`;
    if (keys === undefined) return Number(this.#prepared(remove).run().changes);
    const checked = checkKeys(keys);
    return this.#transaction(() => {
      const removeOne = this.#prepared(`${remove} AND record_id = ?`);
      let removed = 0;
      for (const key of checked) {
        const found = this.#findKey(key);
        if (found !== undefined) removed += Number(removeOne.run(found.record_id).changes);
      }
      return removed;
    });
  }

  /** Deletes the row of `recordId` whatever its sync state (the recording's objects were deleted); true if it existed. */
  remove(recordId: string): boolean {
    return Number(this.#prepared("DELETE FROM recordings WHERE record_id = ?").run(recordId).changes) > 0;
  }

  /** Closes the database; the catalog is unusable afterwards. Closing twice is harmless. */
  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  #stored(recordId: string): StoredRow | undefined {
    return this.#prepared("SELECT * FROM recordings WHERE record_id = ?").get(recordId) as StoredRow | undefined;
  }

  #find(id: string, stream: string | undefined): StoredRow | undefined {
    if (!/^\d{1,15}$/.test(id)) {
      const stored = this.#stored(id);
      return stored !== undefined && (stream === undefined || stored.stream === stream) ? stored : undefined;
    }
    const rows = this.#prepared(
      "SELECT * FROM recordings WHERE liveman_id = ? AND (? IS NULL OR stream = ?) LIMIT 2",
    ).all(Number(id), stream ?? null, stream ?? null) as unknown as StoredRow[];
    if (rows.length > 1) {
      throw new ConflictError(
        `record id ${id} is a start second that recordings of several streams share; give liverec's record id`,
      );
    }
    return rows[0];
  }

  /** The row a sync key names (either id); none when it is unknown or names recordings of several streams. */
  #findKey(key: SyncKey): StoredRow | undefined {
    try {
      return this.#find(key.recordId, key.stream);
    } catch (error) {
      if (error instanceof ConflictError) return undefined;
      throw error;
    }
  }

  /** The first Liveman id from `startedMs`'s second on that no other recording of `stream` has. */
  #freeLivemanId(stream: string, startedMs: number): number {
    const taken = this.#prepared("SELECT 1 FROM recordings WHERE stream = ? AND liveman_id = ?");
    let id = Math.floor(startedMs / 1000);
    while (taken.get(stream, id) !== undefined) id++;
    return id;
  }

  /** The next version: the clock in µs, or one past the last version when the clock has not moved on or stepped back. */
  #nextChangeTs(nowMs: number): number {
    const last = this.#prepared("SELECT value FROM catalog_meta WHERE key = 'last_change_ts'").get() as
      | { value: number }
      | undefined;
    assert(last !== undefined, "catalog_meta has no last_change_ts");
    const next = Math.max(Math.floor(nowMs) * 1000, last.value + 1);
    this.#prepared("UPDATE catalog_meta SET value = ? WHERE key = 'last_change_ts'").run(next);
    return next;
  }

  #prepared(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #transaction<T>(body: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = body();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }
}

/** Brings the schema at `path` to `CATALOG_SCHEMA_VERSION`. */
function migrate(db: DatabaseSync, path: string): void {
  const { user_version: version } = db.prepare("PRAGMA user_version").get() as { user_version: number };
  if (version === CATALOG_SCHEMA_VERSION) return;
  if (version > CATALOG_SCHEMA_VERSION) {
    throw new StorageError(
      `the catalog at ${JSON.stringify(path)} has schema version ${version}, newer than this liverec's ` +
        `${CATALOG_SCHEMA_VERSION}`,
    );
  }
  db.exec("BEGIN IMMEDIATE");
  try {
    if (version < 1) db.exec(SCHEMA_V1);
    if (version < 2) db.exec(SCHEMA_V2);
    db.exec(SCHEMA_V3);
    fillLivemanIds(db);
    db.exec(LIVEMAN_ID_INDEX);
    // PRAGMA takes no bound parameters; the value is our own constant.
    db.exec(`PRAGMA user_version = ${CATALOG_SCHEMA_VERSION}`);
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

/** Gives the rows of an older catalog their Liveman ids, in order of start within each stream. */
function fillLivemanIds(db: DatabaseSync): void {
  const rows = db.prepare("SELECT record_id, stream, started_ms FROM recordings ORDER BY stream, started_ms, record_id")
    .all() as unknown as Pick<StoredRow, "record_id" | "stream" | "started_ms">[];
  const set = db.prepare("UPDATE recordings SET liveman_id = ? WHERE record_id = ?");
  let last: { stream: string; id: number } | undefined;
  for (const row of rows) {
    let id = Math.floor(row.started_ms / 1000);
    if (last?.stream === row.stream && id <= last.id) id = last.id + 1;
    set.run(id, row.record_id);
    last = { stream: row.stream, id };
  }
}

function rowOf(stored: StoredRow): RecordingRow {
  return {
    recordId: stored.record_id,
    livemanId: stored.liveman_id,
    stream: stored.stream,
    recordDir: stored.record_dir,
    mpdPath: stored.mpd_path,
    hlsPath: stored.hls_path,
    mp4Path: stored.mp4_path ?? undefined,
    tsPath: stored.ts_path ?? undefined,
    flvPath: stored.flv_path ?? undefined,
    startedAt: new Date(stored.started_ms).toISOString(),
    endedAt: stored.ended_ms === null ? undefined : new Date(stored.ended_ms).toISOString(),
    durationS: stored.duration_s,
    state: stored.state,
    sizeBytes: stored.size_bytes,
    segments: stored.segments,
    codecs: JSON.parse(stored.codecs) as string[],
    nodeAlias: stored.node_alias ?? undefined,
    periods: stored.periods,
    updatedAt: new Date(stored.updated_ms).toISOString(),
  };
}

function sameContent(stored: StoredRow, input: RecordingInput, startedMs: number, endedMs: number | null): boolean {
  return stored.stream === input.stream && stored.record_dir === input.recordDir &&
    stored.mpd_path === input.mpdPath && stored.hls_path === input.hlsPath &&
    stored.mp4_path === (input.mp4Path ?? null) && stored.ts_path === (input.tsPath ?? null) &&
    stored.flv_path === (input.flvPath ?? null) && stored.started_ms === startedMs && stored.ended_ms === endedMs &&
    stored.duration_s === input.durationS && stored.state === input.state && stored.size_bytes === input.sizeBytes &&
    stored.segments === input.segments && stored.codecs === JSON.stringify(input.codecs) &&
    stored.node_alias === (input.nodeAlias ?? null) && stored.periods === input.periods;
}

/** The recorder computes rows itself, so a bad one is a bug, not bad input. */
function checkInput(input: RecordingInput): void {
  assert(input.recordId !== "", "recordId is empty");
  assert(input.stream !== "", "stream is empty");
  assert(isIsoTime(input.startedAt), `startedAt is not an ISO time: ${JSON.stringify(input.startedAt)}`);
  assert(
    input.endedAt === undefined || isIsoTime(input.endedAt),
    `endedAt is not an ISO time: ${JSON.stringify(input.endedAt)}`,
  );
  assert(RECORDING_STATES.includes(input.state), `unknown state ${JSON.stringify(input.state)}`);
  assert(Number.isFinite(input.durationS) && input.durationS >= 0, `bad durationS ${input.durationS}`);
  const counts = { sizeBytes: input.sizeBytes, segments: input.segments, periods: input.periods };
  for (const [name, value] of Object.entries(counts)) {
    assert(Number.isSafeInteger(value) && value >= 0, `bad ${name} ${value}`);
  }
  assert(input.codecs.every((codec) => typeof codec === "string"), "codecs must be strings");
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** True for an ISO 8601 date-time with a zone whose fields are in range (V8 alone accepts Feb 30 and 24:00). */
function isIsoTime(text: string): boolean {
  const match = ISO_TIME.exec(text);
  if (match === null || Number.isNaN(Date.parse(text))) return false;
  const [year, month, day, hour, minute, second, zoneHour, zoneMinute] = match.slice(1).map((field) =>
    field === undefined ? 0 : Number(field)
  ) as [number, number, number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 &&
    second <= 59 && zoneHour <= 23 && zoneMinute <= 59;
}

function checkTime(name: string, text: string): number {
  if (typeof text !== "string" || !isIsoTime(text)) {
    throw new BadRequestError(
      `${name} must be an ISO 8601 date-time with a time zone (e.g. 2025-07-24T10:00:00Z), got ${JSON.stringify(text)}`,
    );
  }
  return Date.parse(text);
}

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new BadRequestError(`limit must be an integer between 1 and ${MAX_PAGE_LIMIT}, got ${limit}`);
  }
  return limit;
}

function checkOffset(offset: number | undefined): number {
  if (offset === undefined) return 0;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new BadRequestError(`offset must be a non-negative integer, got ${offset}`);
  }
  return offset;
}

/** `value` as a sync version (µs since the epoch), else a BadRequestError naming `name`. */
export function checkVersion(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new BadRequestError(`${name} must be a non-negative integer (µs since the epoch), got ${value}`);
  }
  return value;
}

/** `stream` when it is a non-empty string, else a BadRequestError. */
export function checkStream(stream: string): string {
  if (typeof stream !== "string" || stream === "") {
    throw new BadRequestError(`stream must be a non-empty string, got ${JSON.stringify(stream)}`);
  }
  return stream;
}

/** `state` when it is a RecordingState, else a BadRequestError listing the states. */
export function checkState(state: string): RecordingState {
  if (!(RECORDING_STATES as readonly string[]).includes(state)) {
    throw new BadRequestError(`state must be one of ${RECORDING_STATES.join(", ")}, got ${JSON.stringify(state)}`);
  }
  return state as RecordingState;
}

function checkKeys(keys: readonly SyncKey[]): readonly SyncKey[] {
  for (const key of keys) {
    if (typeof key.recordId !== "string" || key.recordId === "") {
      throw new BadRequestError(`record must be a non-empty string, got ${JSON.stringify(key.recordId)}`);
    }
    if (key.stream !== undefined) checkStream(key.stream);
  }
  return keys;
}

function streamMatches(key: SyncKey, rowStream: string, requestStream: string | undefined): boolean {
  return (key.stream === undefined || key.stream === rowStream) &&
    (requestStream === undefined || requestStream === rowStream);
}
