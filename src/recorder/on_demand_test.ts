import assert from "node:assert/strict";
import type { OnDemand } from "../config/mod.ts";
import { askOnDemand, MAX_ANSWER_BYTES, type OnDemandRequest } from "./on_demand.ts";

const REQUEST: OnDemandRequest = { stream: "room1", nodeAlias: "node-1", publishedAt: "2024-05-01T12:00:00.000Z" };

interface Seen {
  method: string;
  path: string;
  contentType: string | null;
  body: string;
}

/**
 * Runs `test` against a loopback server answering with `handler`; `released` resolves when the test is over, so a
 * handler that stalls on it never outlives the test.
 */
async function withServer(
  handler: (request: Request, released: Promise<void>) => Response | Promise<Response>,
  test: (url: string, seen: Seen[]) => Promise<void>,
): Promise<void> {
  const seen: Seen[] = [];
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    seen.push({
      method: request.method,
      path: new URL(request.url).pathname,
      contentType: request.headers.get("content-type"),
      body: await request.text(),
    });
    return handler(request, released);
  });
  try {
    await test(`http://127.0.0.1:${server.addr.port}/hook`, seen);
  } finally {
    release();
    await server.shutdown();
  }
}

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });
}

function onDemandAt(url: string, fallback: OnDemand["fallback"] = "skip", timeoutMs = 2000): OnDemand {
  return { url, timeoutMs, fallback };
}

Deno.test("askOnDemand POSTs the stream as JSON and records when the callback says yes", async () => {
  await withServer(() => json({ record: true }), async (url, seen) => {
    const answer = await askOnDemand(onDemandAt(url), REQUEST);
    assert.deepEqual(answer, { record: true, reason: "callback said yes", overrides: {} });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.method, "POST");
    assert.equal(seen[0]?.path, "/hook");
    assert.equal(seen[0]?.contentType, "application/json");
    assert.deepEqual(JSON.parse(seen[0]?.body ?? ""), {
      stream: "room1",
      node_alias: "node-1",
      published_at: "2024-05-01T12:00:00.000Z",
    });
  });
});

Deno.test("askOnDemand omits node_alias from the body when it is not configured", async () => {
  await withServer(() => json({ record: true }), async (url, seen) => {
    await askOnDemand(onDemandAt(url), { ...REQUEST, nodeAlias: undefined });
    assert.equal(seen[0]?.body, '{"stream":"room1","published_at":"2024-05-01T12:00:00.000Z"}');
  });
});

Deno.test("askOnDemand skips when the callback says no, whatever the fallback", async () => {
  await withServer(() => json({ record: false }), async (url) => {
    assert.deepEqual(await askOnDemand(onDemandAt(url, "record"), REQUEST), {
      record: false,
      reason: "callback said no",
      overrides: {},
    });
  });
});

Deno.test("askOnDemand returns the callback's overrides", async () => {
  const body = { record: true, segment_duration: 2.5, record_period: 3600, splice_window: 0 };
  await withServer(() => json(body), async (url) => {
    const answer = await askOnDemand(onDemandAt(url), REQUEST);
    assert.deepEqual(answer, {
      record: true,
      reason: "callback said yes",
      overrides: { segmentDurationS: 2.5, recordPeriodS: 3600, spliceWindowS: 0 },
    });
  });
  await withServer(() => json({ record: true, record_period: 5 }), async (url) => {
    assert.deepEqual((await askOnDemand(onDemandAt(url), REQUEST)).overrides, { recordPeriodS: 5 });
  });
});

Deno.test("an answer with invalid overrides or keys is a failure and falls back", async () => {
  const cases: { body: unknown; reason: string }[] = [
    {
      body: { record: true, segment_duration: 0 },
      reason: '"segment_duration" must be between 1 and 30 seconds, got 0',
    },
    { body: { record: true, segment_duration: 31 }, reason: "got 31" },
    { body: { record: true, record_period: "3600" }, reason: '"record_period" must be between 5 and 604800' },
    { body: { record: true, record_period: 4 }, reason: "got 4" },
    { body: { record: true, splice_window: -1 }, reason: '"splice_window" must be between 0 and 21600' },
    { body: { record: true, splice_window: null }, reason: "got null" },
    { body: { record: false, splice_window: 99999 }, reason: "got 99999" },
    { body: { record: true, segmentDuration: 2 }, reason: 'unknown key "segmentDuration"' },
  ];
  for (const { body, reason } of cases) {
    await withServer(() => json(body), async (url) => {
      const answer = await askOnDemand(onDemandAt(url, "record"), REQUEST);
      assert.equal(answer.record, true, JSON.stringify(body));
      assert.deepEqual(answer.overrides, {});
      assert.ok(answer.reason.startsWith("invalid answer: "), answer.reason);
      assert.ok(answer.reason.includes(reason), `${JSON.stringify(body)}: ${answer.reason}`);
      assert.ok(answer.reason.endsWith("; fallback record"), answer.reason);
    });
  }
});

Deno.test("a non-2xx status falls back, to record or to skip", async () => {
  await withServer(() => json({ record: true }, 500), async (url) => {
    assert.deepEqual(await askOnDemand(onDemandAt(url, "record"), REQUEST), {
      record: true,
      reason: "HTTP 500; fallback record",
      overrides: {},
    });
    assert.deepEqual(await askOnDemand(onDemandAt(url, "skip"), REQUEST), {
      record: false,
      reason: "HTTP 500; fallback skip",
      overrides: {},
    });
  });
  await withServer(() => new Response("gone", { status: 404 }), async (url) => {
    assert.equal((await askOnDemand(onDemandAt(url), REQUEST)).reason, "HTTP 404; fallback skip");
  });
});

Deno.test("a redirect is not followed and falls back", async () => {
  await withServer((request) => {
    if (new URL(request.url).pathname === "/elsewhere") return json({ record: true });
    return new Response(null, { status: 307, headers: { location: "/elsewhere" } });
  }, async (url, seen) => {
    const answer = await askOnDemand(onDemandAt(url), REQUEST);
    assert.deepEqual(answer, { record: false, reason: "HTTP 307; fallback skip", overrides: {} });
    assert.deepEqual(seen.map((request) => request.path), ["/hook"]);
  });
});

Deno.test("a body that is not the expected JSON falls back", async () => {
  const cases: { body: string; reason: string }[] = [
    { body: "yes", reason: "invalid JSON: " },
    { body: "", reason: "invalid JSON: " },
    { body: '{"record": true', reason: "invalid JSON: " },
    { body: "true", reason: 'invalid answer: must be a JSON object like {"record": true}, got true' },
    { body: '[{"record": true}]', reason: "invalid answer: must be a JSON object" },
    { body: "null", reason: "invalid answer: must be a JSON object" },
    { body: "{}", reason: 'invalid answer: "record" must be true or false, got nothing' },
    { body: '{"record": "yes"}', reason: 'invalid answer: "record" must be true or false, got "yes"' },
    { body: '{"record": 1}', reason: 'invalid answer: "record" must be true or false, got 1' },
  ];
  for (const { body, reason } of cases) {
    await withServer(() => new Response(body), async (url) => {
      const answer = await askOnDemand(onDemandAt(url, "record"), REQUEST);
      assert.equal(answer.record, true, body);
      assert.ok(answer.reason.startsWith(reason), `${body}: ${answer.reason}`);
      assert.ok(answer.reason.endsWith("; fallback record"), answer.reason);
    });
  }
  await withServer(() => new Response(new Uint8Array([0x7b, 0xff, 0x7d])), async (url) => {
    const answer = await askOnDemand(onDemandAt(url), REQUEST);
    assert.equal(answer.reason, "invalid JSON: the body is not UTF-8; fallback skip");
  });
});

Deno.test("an answer larger than MAX_ANSWER_BYTES falls back", async () => {
  const padded = `{"record": true${" ".repeat(MAX_ANSWER_BYTES)}}`;
  await withServer(() => new Response(padded), async (url) => {
    const answer = await askOnDemand(onDemandAt(url, "record"), REQUEST);
    assert.deepEqual(answer, {
      record: true,
      reason: `answer larger than ${MAX_ANSWER_BYTES} bytes; fallback record`,
      overrides: {},
    });
  });
});

Deno.test("a callback slower than the timeout falls back after about the timeout", async () => {
  await withServer(async (_request, released) => {
    await released;
    return json({ record: true });
  }, async (url) => {
    const started = performance.now();
    const answer = await askOnDemand(onDemandAt(url, "record", 200), REQUEST);
    const elapsedMs = performance.now() - started;
    assert.deepEqual(answer, { record: true, reason: "timed out after 200 ms; fallback record", overrides: {} });
    assert.ok(elapsedMs >= 150 && elapsedMs < 1000, `answered after ${elapsedMs} ms`);
  });
});

Deno.test("a body that stalls after the headers counts against the timeout", async () => {
  await withServer((_request, released) => {
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode('{"record": '));
        await released;
        controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  }, async (url) => {
    const started = performance.now();
    const answer = await askOnDemand(onDemandAt(url, "skip", 200), REQUEST);
    const elapsedMs = performance.now() - started;
    assert.deepEqual(answer, { record: false, reason: "timed out after 200 ms; fallback skip", overrides: {} });
    assert.ok(elapsedMs >= 150 && elapsedMs < 1000, `answered after ${elapsedMs} ms`);
  });
});

Deno.test("the timeout holds even for a fetch that ignores the abort signal", async () => {
  const hangs: typeof fetch = () => new Promise<Response>(() => {});
  const started = performance.now();
  const answer = await askOnDemand(onDemandAt("http://127.0.0.1:9/hook", "record", 100), REQUEST, hangs);
  assert.equal(answer.reason, "timed out after 100 ms; fallback record");
  assert.ok(performance.now() - started < 1000);
});

Deno.test("a refused connection falls back", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const answer = await askOnDemand(onDemandAt(`http://127.0.0.1:${port}/hook`, "record"), REQUEST);
  assert.deepEqual(answer, {
    record: true,
    reason: `connection refused by 127.0.0.1:${port}; fallback record`,
    overrides: {},
  });
});

Deno.test("askOnDemand never throws, even when fetch itself throws", async () => {
  const throws: typeof fetch = () => {
    throw new TypeError("boom", { cause: new Error("inner detail") });
  };
  const answer = await askOnDemand(onDemandAt("http://127.0.0.1:9/hook"), REQUEST, throws);
  assert.deepEqual(answer, { record: false, reason: "request failed: inner detail; fallback skip", overrides: {} });
});
