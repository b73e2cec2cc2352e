import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import type { LogLevel } from "../shared/log.ts";
import { signature, type WebhookOptions, WebhookOutbox } from "./webhooks.ts";

/** One request as a receiver saw it. */
interface Hit {
  id: string;
  headers: Headers;
  body: string;
}

/** A real HTTP receiver on loopback; `answer` decides the response to the `n`th request (1-based). */
function receiver(answer: (hit: Hit, n: number) => Response | Promise<Response> = () => new Response("ok"), port = 0) {
  const hits: Hit[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (request) => {
    const hit = { id: request.headers.get("webhook-id") ?? "", headers: request.headers, body: await request.text() };
    hits.push(hit);
    return await answer(hit, hits.length);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hooks/liverec`,
    port: server.addr.port,
    hits,
    close: () => server.shutdown(),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

interface LogLine {
  level: LogLevel;
  message: string;
  fields: Record<string, unknown> | undefined;
}

/**
 * An outbox on a fresh temporary folder (or `dir`), with short timings, a movable clock and collected logs; disposing
 * of it stops the outbox and removes the folder.
 */
async function outboxFor(urls: string[], overrides: Partial<WebhookOptions> = {}) {
  const logs: LogLine[] = [];
  const clock = { ms: Date.UTC(2025, 0, 2, 3, 4, 5), nowMs: () => clock.ms };
  const dir = overrides.dir ?? await Deno.makeTempDir({ prefix: "liverec-webhooks-" });
  const outbox = new WebhookOutbox({
    urls,
    secret: undefined,
    nodeAlias: undefined,
    timeoutMs: 2_000,
    retryFirstMs: 20,
    retryMaxMs: 80,
    maxAgeMs: 3_600_000,
    log: (level, message, fields) => logs.push({ level, message, fields }),
    clock,
    ...overrides,
    dir,
  });
  await outbox.start();
  return {
    outbox,
    dir,
    logs,
    clock,
    async [Symbol.asyncDispose]() {
      await outbox.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Polls `check` until it holds, failing after `timeoutMs`. */
async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function filesIn(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name).sort();
}

/** The Standard Webhooks v1 signature, computed with node:crypto rather than WebCrypto. */
function expectedSignature(secret: string, id: string, timestamp: string, body: string): string {
  return `v1,${createHmac("sha256", secret).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

Deno.test("WebhookOutbox delivers signed events in order, with the Standard Webhooks headers and body", async () => {
  await using hook = receiver();
  await using box = await outboxFor([hook.url], { secret: "s3cr3t-key", nodeAlias: "node-7" });
  const { outbox, dir, clock } = box;
  const started = await outbox.emit("recording.started", { streamId: "cam", recordId: "r1" });
  clock.ms += 1_500;
  const segment = await outbox.emit("recording.segment", { streamId: "cam", key: "cam/seg_0001.m4s" });
  const finished = await outbox.emit("recording.finished", { streamId: "cam", durationMs: 6_000 });
  assert.ok(await outbox.drained(5_000));

  assert.deepEqual(hook.hits.map((hit) => hit.id), [started.id, segment.id, finished.id]);
  assert.equal(new Set([started.id, segment.id, finished.id]).size, 3);
  assert.match(started.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(started.createdAt, "2025-01-02T03:04:05.000Z");
  for (const hit of hook.hits) {
    assert.equal(hit.headers.get("content-type"), "application/json");
    const timestamp = hit.headers.get("webhook-timestamp") ?? "";
    assert.match(timestamp, /^\d+$/);
    assert.equal(
      hit.headers.get("webhook-signature"),
      expectedSignature("s3cr3t-key", hit.id, timestamp, hit.body),
    );
    assert.equal(
      await signature("s3cr3t-key", hit.id, Number(timestamp), hit.body),
      hit.headers.get("webhook-signature"),
    );
  }
  assert.equal(hook.hits[0]!.headers.get("webhook-timestamp"), String(Date.UTC(2025, 0, 2, 3, 4, 5) / 1000));
  assert.deepEqual(JSON.parse(hook.hits[0]!.body), {
    id: started.id,
    type: "recording.started",
    created_at: "2025-01-02T03:04:05.000Z",
    node_alias: "node-7",
    data: { streamId: "cam", recordId: "r1" },
  });
  assert.deepEqual(Object.keys(JSON.parse(hook.hits[2]!.body)), ["id", "type", "created_at", "node_alias", "data"]);
  assert.equal(JSON.parse(hook.hits[1]!.body).created_at, "2025-01-02T03:04:06.500Z");
  assert.deepEqual(outbox.status, { pending: 0, delivered: 3, failedAttempts: 0, dropped: 0, lastError: undefined });
  assert.deepEqual(await filesIn(dir), []);
});

Deno.test("WebhookOutbox signature() matches an independent HMAC-SHA256 and changes with every signed part", async () => {
  const body = '{"id":"e1","data":{"text":"ünïcode"}}';
  const expected = expectedSignature("key", "e1", "1700000000", body);
  assert.equal(await signature("key", "e1", 1700000000, body), expected);
  assert.notEqual(await signature("other", "e1", 1700000000, body), expected);
  assert.notEqual(await signature("key", "e2", 1700000000, body), expected);
  assert.notEqual(await signature("key", "e1", 1700000001, body), expected);
  assert.notEqual(await signature("key", "e1", 1700000000, body + " "), expected);
});

Deno.test("WebhookOutbox retries a receiver that fails twice, sends the same id each time, and holds later events back", async () => {
  await using hook = receiver((_hit, n) =>
    n <= 2 ? new Response("try later", { status: 500 }) : new Response(null, { status: 204 })
  );
  await using box = await outboxFor([hook.url], { secret: "k" });
  const { outbox, dir, logs } = box;
  const first = await outbox.emit("recording.started", { streamId: "cam" });
  const second = await outbox.emit("recording.finished", { streamId: "cam" });
  assert.ok(await outbox.drained(5_000));

  assert.deepEqual(hook.hits.map((hit) => hit.id), [first.id, first.id, first.id, second.id]);
  assert.equal(hook.hits[0]!.body, hook.hits[2]!.body);
  for (const hit of hook.hits) {
    const timestamp = hit.headers.get("webhook-timestamp") ?? "";
    assert.equal(hit.headers.get("webhook-signature"), expectedSignature("k", hit.id, timestamp, hit.body));
  }
  const status = outbox.status;
  assert.equal(status.pending, 0);
  assert.equal(status.delivered, 2);
  assert.equal(status.failedAttempts, 2);
  assert.equal(status.dropped, 0);
  assert.equal(status.lastError, `${hook.url}: HTTP 500 try later`);
  assert.equal(logs.filter((line) => line.level === "warn").length, 2);
  assert.deepEqual(await filesIn(dir), []);
});

Deno.test("WebhookOutbox counts an answer slower than timeoutMs as a failed attempt and retries it", async () => {
  await using hook = receiver(async (_hit, n) => {
    if (n === 1) await new Promise((resolve) => setTimeout(resolve, 400));
    return new Response("ok");
  });
  await using box = await outboxFor([hook.url], { timeoutMs: 100 });
  const { outbox } = box;
  const event = await outbox.emit("recording.segment", { n: 1 });
  assert.ok(await outbox.drained(5_000));
  assert.deepEqual(hook.hits.map((hit) => hit.id), [event.id, event.id]);
  assert.equal(outbox.status.failedAttempts, 1);
  assert.equal(outbox.status.delivered, 1);
  assert.match(outbox.status.lastError ?? "", /no answer within 100 ms/);
});

Deno.test("WebhookOutbox keeps undelivered events across a restart and sends them with the same id", async () => {
  // A port nobody listens on: the receiver is down.
  const probe = receiver();
  const port = probe.port;
  await probe.close();
  const url = `http://127.0.0.1:${port}/hooks/liverec`;
  const first = await outboxFor([url], { secret: "k", nodeAlias: "n1" });
  const event = await first.outbox.emit("recording.finished", { streamId: "cam", recordId: "r9" });
  await until("a failed attempt", () => first.outbox.status.failedAttempts >= 1);
  assert.match(first.outbox.status.lastError ?? "", /./);
  await first.outbox.stop(1_000);
  assert.equal(first.outbox.status.pending, 1);
  const files = await filesIn(first.dir);
  assert.equal(files.length, 1);
  assert.match(files[0]!, new RegExp(`^\\d{12}-${event.id}\\.json$`));

  const second = await outboxFor([url], { secret: "k", nodeAlias: "n1", dir: first.dir });
  const hook = receiver(undefined, port);
  try {
    assert.ok(await second.outbox.drained(5_000));
    assert.deepEqual(hook.hits.map((hit) => hit.id), [event.id]);
    assert.deepEqual(JSON.parse(hook.hits[0]!.body), {
      id: event.id,
      type: "recording.finished",
      created_at: event.createdAt,
      node_alias: "n1",
      data: { streamId: "cam", recordId: "r9" },
    });
    assert.ok(second.logs.some((line) => line.message === "webhook deliveries resumed" && line.fields?.pending === 1));
    assert.deepEqual(await filesIn(first.dir), []);

    // Events emitted after the restart are numbered after the ones that were left.
    const later = await second.outbox.emit("recording.started", {});
    assert.ok(await second.outbox.drained(5_000));
    assert.deepEqual(hook.hits.map((hit) => hit.id), [event.id, later.id]);
  } finally {
    await second.outbox.stop();
    await hook.close();
    await Deno.remove(first.dir, { recursive: true });
  }
});

Deno.test("WebhookOutbox names delivery files so that their order is the emit order, also across a restart", async () => {
  const probe = receiver();
  const url = `http://127.0.0.1:${probe.port}/down`;
  await probe.close();
  const first = await outboxFor([url], { retryFirstMs: 60_000, retryMaxMs: 60_000 });
  const ids: string[] = [];
  for (let n = 0; n < 11; n++) ids.push((await first.outbox.emit("recording.segment", { n })).id);
  await first.outbox.stop(1_000);
  const second = await outboxFor([url], { retryFirstMs: 60_000, retryMaxMs: 60_000, dir: first.dir });
  ids.push((await second.outbox.emit("recording.segment", { n: 11 })).id);
  await second.outbox.stop(1_000);
  try {
    const files = await filesIn(first.dir);
    assert.deepEqual(files.map((name) => name.slice(13, -5)), ids);
    assert.deepEqual(files.map((name) => Number(name.slice(0, 12))), ids.map((_, n) => n));
  } finally {
    await Deno.remove(first.dir, { recursive: true });
  }
});

Deno.test("WebhookOutbox gives up an event older than maxAgeMs, logs an error, and goes on with the next", async () => {
  await using hook = receiver((hit) =>
    JSON.parse(hit.body).type === "recording.started" ? new Response("no", { status: 503 }) : new Response("ok")
  );
  await using box = await outboxFor([hook.url], { maxAgeMs: 60_000 });
  const { outbox, dir, logs, clock } = box;
  const old = await outbox.emit("recording.started", {});
  clock.ms += 30_000;
  const fresh = await outbox.emit("recording.finished", {});
  await until("three failed attempts", () => outbox.status.failedAttempts >= 3);
  assert.equal(outbox.status.delivered, 0, "the later event waits behind the failing one");
  assert.equal(outbox.status.dropped, 0);
  clock.ms += 30_001;
  assert.ok(await outbox.drained(5_000));

  assert.equal(hook.hits.at(-1)!.id, fresh.id);
  assert.deepEqual(hook.hits.slice(0, -1).map((hit) => hit.id), hook.hits.slice(0, -1).map(() => old.id));
  assert.equal(outbox.status.dropped, 1);
  assert.equal(outbox.status.delivered, 1);
  const error = logs.find((line) => line.level === "error");
  assert.equal(error?.fields?.id, old.id);
  assert.equal(error?.fields?.type, "recording.started");
  assert.deepEqual(await filesIn(dir), []);
});

Deno.test("WebhookOutbox moves corrupt files aside, removes interrupted writes, and still starts", async () => {
  await using hook = receiver();
  const dir = await Deno.makeTempDir({ prefix: "liverec-webhooks-" });
  await Deno.writeTextFile(join(dir, "000000000004-aaaa.json"), '{"url": "http://127.0.0.1:1/x", "bo');
  await Deno.writeTextFile(join(dir, "000000000005-bbbb.json"), JSON.stringify({ url: hook.url, body: "[]" }));
  await Deno.writeTextFile(join(dir, "notes.json"), "{}");
  await Deno.writeTextFile(join(dir, "000000000006-cccc.json.tmp-"), "{");
  await using box = await outboxFor([hook.url], { dir });
  const { outbox, logs } = box;
  assert.deepEqual(await filesIn(dir), [
    "000000000004-aaaa.json.corrupt",
    "000000000005-bbbb.json.corrupt",
    "notes.json.corrupt",
  ]);
  assert.equal(logs.filter((line) => line.level === "error" && /corrupt/.test(line.message)).length, 3);
  assert.equal(outbox.status.pending, 0);

  const event = await outbox.emit("recording.failed", { reason: "disk full" });
  assert.ok(await outbox.drained(5_000));
  assert.deepEqual(hook.hits.map((hit) => hit.id), [event.id]);
  assert.equal(hook.hits[0]!.headers.has("webhook-signature"), false);
  assert.equal(Object.hasOwn(JSON.parse(hook.hits[0]!.body), "node_alias"), false);
});

Deno.test("WebhookOutbox sends no signature without a secret, but still the id and timestamp headers", async () => {
  await using hook = receiver();
  await using box = await outboxFor([hook.url], { secret: undefined });
  const { outbox } = box;
  const event = await outbox.emit("recording.rotated", { from: "r1", to: "r2" });
  assert.ok(await outbox.drained(5_000));
  assert.equal(hook.hits.length, 1);
  const headers = hook.hits[0]!.headers;
  assert.equal(headers.has("webhook-signature"), false);
  assert.equal(headers.get("webhook-id"), event.id);
  assert.match(headers.get("webhook-timestamp") ?? "", /^\d+$/);
  assert.deepEqual(JSON.parse(hook.hits[0]!.body), {
    id: event.id,
    type: "recording.rotated",
    created_at: event.createdAt,
    data: { from: "r1", to: "r2" },
  });
});

Deno.test("WebhookOutbox sends each event to every URL, each with its own retries", async () => {
  await using steady = receiver();
  await using flaky = receiver((_hit, n) => new Response(null, { status: n <= 2 ? 502 : 200 }));
  await using box = await outboxFor([steady.url, flaky.url, steady.url], { secret: "k" });
  const { outbox, dir } = box;
  const event = await outbox.emit("recording.spliced", { parts: 2 });
  assert.equal(outbox.status.pending, 2);
  assert.equal((await filesIn(dir)).length, 2);
  assert.ok(await outbox.drained(5_000));
  assert.deepEqual(steady.hits.map((hit) => hit.id), [event.id]);
  assert.deepEqual(flaky.hits.map((hit) => hit.id), [event.id, event.id, event.id]);
  assert.equal(steady.hits[0]!.body, flaky.hits[2]!.body);
  assert.equal(outbox.status.delivered, 2);
  assert.equal(outbox.status.failedAttempts, 2);
  assert.deepEqual(await filesIn(dir), []);
});

Deno.test("WebhookOutbox drops, with a warning, deliveries left for a URL that is no longer configured", async () => {
  const probe = receiver();
  const gone = `http://127.0.0.1:${probe.port}/gone`;
  await probe.close();
  const first = await outboxFor([gone], { retryFirstMs: 60_000, retryMaxMs: 60_000 });
  const event = await first.outbox.emit("recording.started", {});
  await first.outbox.stop(1_000);
  const hook = receiver();
  const second = await outboxFor([hook.url], { dir: first.dir });
  try {
    assert.deepEqual(await filesIn(first.dir), []);
    assert.equal(second.outbox.status.dropped, 1);
    assert.ok(second.logs.some((line) => line.level === "warn" && line.fields?.id === event.id));
    assert.ok(await second.outbox.drained(1_000));
    assert.equal(hook.hits.length, 0);
  } finally {
    await second.outbox.stop();
    await hook.close();
    await Deno.remove(first.dir, { recursive: true });
  }
});

Deno.test("WebhookOutbox.stop() aborts an attempt still running after the grace time and keeps its file", async () => {
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const hook = receiver(async () => {
    await held;
    return new Response("late");
  });
  const { outbox, dir } = await outboxFor([hook.url], { timeoutMs: 30_000 });
  try {
    await outbox.emit("recording.finished", {});
    await until("the attempt to reach the receiver", () => hook.hits.length === 1);
    const before = Date.now();
    await outbox.stop(50);
    assert.ok(Date.now() - before < 2_000);
    assert.equal(outbox.status.delivered, 0);
    assert.equal(outbox.status.failedAttempts, 0, "an attempt cut short by stop() is not a failure");
    assert.equal((await filesIn(dir)).length, 1);
  } finally {
    release();
    await hook.close();
    await Deno.remove(dir, { recursive: true });
  }
});
