import assert from "node:assert/strict";
import { formatLine } from "./log.ts";

const TIME = new Date(Date.UTC(2026, 11, 6, 18, 0, 1, 500));

Deno.test("a text log line: time, padded level, message, key=value fields quoted when needed, numbers rounded", () => {
  const line = formatLine("text", TIME, "info", "recording progress", {
    stream: "live/cam1",
    seconds: 60.01666666667,
    segments: 10,
    reason: "peer closed",
    codecs: ["avc1.42c01f", "opus"],
  });
  assert.equal(
    line,
    "2026-12-06T18:00:01.500Z INFO  recording progress stream=live/cam1 seconds=60.017 segments=10 " +
      'reason="peer closed" codecs="[\\"avc1.42c01f\\",\\"opus\\"]"',
  );
  assert.equal(formatLine("text", TIME, "warn", "idle"), "2026-12-06T18:00:01.500Z WARN  idle");
});

Deno.test("a JSON log line is one object: time, level, msg, then the fields, numbers rounded", () => {
  const line = formatLine("json", TIME, "error", 'said "no"', { lagMs: 0.123456, nested: { a: 1 }, n: 3 });
  assert.deepEqual(JSON.parse(line), {
    time: "2026-12-06T18:00:01.500Z",
    level: "error",
    msg: 'said "no"',
    lagMs: 0.123,
    nested: { a: 1 },
    n: 3,
  });
  assert.ok(!line.includes("\n"));
});
