/**
 * liverec as a live777 node, driven by a Liveman client written after `liveman/src/tick.rs` (auto-record and record
 * sync) with live777's sample token. Every answer is read as live777's serde types read it (libs/api/src/response.rs
 * and recorder.rs): the `read*` functions keep their field names and JSON types. Then liverec's own API must still
 * serve what Liveman synced away.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadClip } from "../scripts/clip.ts";
import { decodeErrors } from "./helpers/media_tools.ts";
import { publishInBackground, startService, waitFor } from "./helpers/service.ts";

const clip = await loadClip();
const TOKEN = "live777";

type Json = Record<string, unknown>;

function object(value: unknown, what: string): Json {
  assert.ok(typeof value === "object" && value !== null && !Array.isArray(value), `${what} is an object`);
  return value as Json;
}

function integer(value: unknown, what: string): number {
  assert.ok(Number.isSafeInteger(value), `${what} is an integer: ${JSON.stringify(value)}`);
  return value as number;
}

function string(value: unknown, what: string): string {
  assert.equal(typeof value, "string", `${what} is a string: ${JSON.stringify(value)}`);
  return value as string;
}

function array(value: unknown, what: string): unknown[] {
  assert.ok(Array.isArray(value), `${what} is an array`);
  return value;
}

/** `api::response::Stream`: the fields serde requires (stats, provisioned, onDemand, statsScope have defaults). */
function readStream(value: unknown): { id: string; createdAt: number; codecs: string[] } {
  const stream = object(value, "stream");
  for (const side of ["publish", "subscribe"]) {
    const pubSub = object(stream[side], side);
    integer(pubSub.leaveAt, `${side}.leaveAt`);
    for (const entry of array(pubSub.sessions, `${side}.sessions`)) {
      const session = object(entry, "session");
      string(session.id, "session.id");
      integer(session.createdAt, "session.createdAt");
      integer(session.leaveAt, "session.leaveAt");
      assert.ok(
        ["new", "connecting", "connected", "disconnected", "failed", "closed"].includes(session.state as string),
      );
      assert.equal(typeof session.hasDataChannel, "boolean", "session.hasDataChannel");
    }
  }
  const codecs = array(stream.codecs, "codecs").map((entry) => {
    const codec = object(entry, "codec");
    string(codec.kind, "codec.kind");
    string(codec.fmtp, "codec.fmtp");
    return string(codec.codec, "codec.codec");
  });
  return { id: string(stream.id, "id"), createdAt: integer(stream.createdAt, "createdAt"), codecs };
}

/** `api::recorder::StartRecordResponse`. */
function readStartResponse(value: unknown): { id: string; record_id: string; record_dir: string; mpd_path: string } {
  const body = object(value, "start response");
  return {
    id: string(body.id, "id"),
    record_id: string(body.record_id ?? "", "record_id"),
    record_dir: string(body.record_dir ?? "", "record_dir"),
    mpd_path: string(body.mpd_path, "mpd_path"),
  };
}

interface RecordingSession {
  id: string | null;
  stream: string;
  start_ts: number;
  end_ts: number | null;
  duration_ms: number | null;
  mpd_path: string;
  status: string;
}

/** `api::recorder::PullRecordingsResponse`. */
function readPull(value: unknown): { sessions: RecordingSession[]; last_ts: number | null } {
  const body = object(value, "pull response");
  const sessions = array(body.sessions, "sessions").map((entry) => {
    const session = object(entry, "session");
    const optional = (key: string) => (session[key] ?? null) === null ? null : integer(session[key], key);
    assert.ok(["Active", "Completed", "Failed", "Acked"].includes(session.status as string), `${session.status}`);
    return {
      id: session.id === undefined || session.id === null ? null : string(session.id, "id"),
      stream: string(session.stream, "stream"),
      start_ts: integer(session.start_ts, "start_ts"),
      end_ts: optional("end_ts"),
      duration_ms: optional("duration_ms"),
      mpd_path: string(session.mpd_path, "mpd_path"),
      status: session.status as string,
    };
  });
  return { sessions, last_ts: (body.last_ts ?? null) === null ? null : integer(body.last_ts, "last_ts") };
}

/** Liveman's side of one node: its recordings table and sync cursor, and the requests tick.rs makes. */
class Liveman {
  /** Liveman's recordings index, by (stream, record). */
  readonly index = new Map<string, { stream: string; record: string; mpdPath: string; status?: string }>();
  #cursor: number | undefined;

  constructor(readonly nodeUrl: string) {}

  async call(method: string, path: string, body?: unknown): Promise<Response> {
    return await fetch(`${this.nodeUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  async json(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await this.call(method, path, body);
    assert.equal(response.status, 200, `${method} ${path}: ${response.status}`);
    return await response.json();
  }

  async streams(): Promise<ReturnType<typeof readStream>[]> {
    return array(await this.json("GET", "/api/streams/"), "streams").map(readStream);
  }

  /** do_auto_record_check: starts `stream` unless it records, and upserts what the start answered. */
  async autoRecord(stream: string): Promise<ReturnType<typeof readStartResponse> | undefined> {
    const status = object(await this.json("GET", `/api/record/${stream}`), "record status");
    if (status.recording === true) return undefined;
    const started = readStartResponse(await this.json("POST", `/api/record/${stream}`, { base_dir: null }));
    assert.notEqual(started.record_id, "", "record_id is required from liveion");
    this.#upsert(stream, started.record_id, started.mpd_path);
    return started;
  }

  /** do_record_sync: pull (limit 200, then since the cursor), upsert, ack, delete, advance the cursor. */
  async tick(): Promise<RecordingSession[]> {
    const query = `${this.#cursor === undefined ? "" : `since_ts=${this.#cursor}&`}limit=200`;
    const pull = readPull(await this.json("GET", `/api/recordings?${query}`));
    const records = pull.sessions.filter((s) => s.id !== null && s.id.trim() !== "").map((session) => {
      this.#upsert(session.stream, session.id!, session.mpd_path, session.status);
      return { stream: session.stream, record: session.id! };
    });
    if (records.length > 0) {
      integer(object(await this.json("PATCH", "/api/recordings", { records }), "ack").acked, "acked");
      integer(object(await this.json("DELETE", "/api/recordings", { records }), "delete").deleted, "deleted");
    }
    if (pull.last_ts !== null) this.#cursor = pull.last_ts;
    return pull.sessions;
  }

  #upsert(stream: string, record: string, mpdPath: string, status?: string): void {
    this.index.set(`${stream}\n${record}`, { stream, record, mpdPath, ...(status !== undefined ? { status } : {}) });
  }
}

Deno.test("a Liveman client finds, starts, stops and syncs liverec's recording with live777's token, ids and shapes", async () => {
  const service = await startService({ toml: `[auth]\ntokens = ["${TOKEN}"]\n` });
  const stream = "liveman-1";
  const liveman = new Liveman(service.url);
  try {
    const publish = publishInBackground({ url: `${service.url}/whip/${stream}`, seconds: 8, clip, token: TOKEN });
    const listed = await waitFor("the stream in /api/streams/", async () => {
      return (await liveman.streams()).find((s) => s.id === stream);
    });
    assert.deepEqual(listed.codecs.sort(), ["h264", "opus"]);
    assert.ok(Math.abs(listed.createdAt - Date.now()) < 30_000, `createdAt ${listed.createdAt} is Unix ms`);

    const started = await liveman.autoRecord(stream);
    assert.ok(started !== undefined);
    const startedAtS = Date.now() / 1000;
    assert.match(started.record_id, /^\d{10}$/);
    assert.ok(Math.abs(Number(started.record_id) - startedAtS) <= 2, `record_id ${started.record_id}`);
    // Liveman's manual start of a stream already recording: live777 answers 200 with the running recording.
    const again = readStartResponse(await liveman.json("POST", `/api/record/${stream}`, { base_dir: null }));
    assert.deepEqual(again, started);
    assert.equal(await liveman.autoRecord(stream), undefined, "a recording stream is left alone");

    const active = await waitFor("the active recording in the sync", async () => {
      return (await liveman.tick()).find((s) => s.id === started.record_id && s.status === "Active");
    });
    assert.equal(active.end_ts, null);
    assert.equal(liveman.index.size, 1, "the start's record_id and the sync's id are the same key");

    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const stopped = await liveman.call("DELETE", `/api/record/${stream}`);
    assert.equal(stopped.status, 200);
    await stopped.body?.cancel();
    const completed = await waitFor("the completed recording in the sync", async () => {
      return (await liveman.tick()).find((s) => s.id === started.record_id && s.status === "Completed");
    });
    // What Liveman's recordings page shows for `record` (Unix seconds) is the start, to the second.
    assert.ok(
      Math.abs(Number(completed.id) - completed.start_ts / 1e6) < 1,
      `${completed.id} vs ${completed.start_ts}`,
    );
    assert.ok(completed.duration_ms !== null && completed.duration_ms > 1_000, `duration_ms ${completed.duration_ms}`);
    assert.deepEqual(await liveman.tick(), [], "acked and deleted: nothing left to pull");
    assert.equal([...liveman.index.values()][0]?.status, "Completed");
    await publish.result;

    // liverec's own API still serves what Liveman synced away: the row, its MP4 and a range export.
    const row = object(await liveman.json("GET", `/api/recordings/${started.record_id}`), "row");
    assert.equal(row.state, "finished");
    const liverecId = string(row.record_id, "record_id");
    assert.deepEqual(
      object(await liveman.json("GET", `/api/recordings/${liverecId}`), "row").liveman_id,
      Number(completed.id),
    );
    for (
      const path of [`/api/recordings/${liverecId}/mp4`, `/api/export/${stream}?start=${row.started_at}&duration=2`]
    ) {
      const response = await liveman.call("GET", path);
      assert.equal(response.status, 200, path);
      const file = join(service.dir, "download.mp4");
      await Deno.writeFile(file, new Uint8Array(await response.arrayBuffer()));
      assert.equal(await decodeErrors(file), "", path);
    }
    const anonymous = await fetch(`${service.url}/api/streams/`);
    assert.equal(anonymous.status, 401, "the token is still required");
    await anonymous.body?.cancel();
    assert.match(service.logs(), /WARN .*shorter than 8 characters/);
  } finally {
    await service.stop();
  }
});
