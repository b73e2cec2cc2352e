/**
 * The bundled test publisher as a user runs it (`deno task publish URL`): it prints its progress while it publishes,
 * and when the service refuses it, cannot be reached or goes away mid-publish, it says so in one line and exits 1.
 */

import assert from "node:assert/strict";
import { startService, waitFor } from "./helpers/service.ts";

const PUBLISH = new URL("../scripts/publish.ts", import.meta.url).pathname;

/** Starts the publisher CLI; its stderr is collected as it comes. */
function publisher(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", PUBLISH, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stderr) stderr += decoder.decode(chunk, { stream: true });
  })();
  const stdout = new Response(child.stdout).text();
  return {
    stderr: () => stderr,
    async done() {
      const { code } = await child.status;
      await reading;
      return { code, stdout: await stdout, stderr };
    },
  };
}

Deno.test("the test publisher prints progress, and a result line when it is done", async () => {
  const service = await startService({ toml: `[recorder]\nauto_streams = ["cli-*"]\nsegment_duration = 2\n` });
  try {
    const run = publisher([`${service.url}/whip/cli-1`, "--seconds", "6"]);
    const { code, stdout, stderr } = await run.done();
    assert.equal(code, 0, stderr);
    assert.match(stderr, /^connected to http:\/\/127\.0\.0\.1:\d+\/whip\/cli-1; publishing 6 s$/m);
    assert.match(stderr, /^published 5 s: 150 video frames, \d+ audio frames, \d+ keyframe requests$/m);
    assert.equal(JSON.parse(stdout).videoFrames, 180);
  } finally {
    await service.stop();
  }
});

Deno.test("the test publisher fails in one line when refused, unreachable, or when the service goes away", async () => {
  const service = await startService({
    toml: `[recorder]\nauto_streams = ["cli-*"]\n\n[auth]\ntokens = ["cli-token-123"]\n`,
  });
  try {
    const refused = await publisher([`${service.url}/whip/cli-2`, "--seconds", "3"]).done();
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^publish: WHIP POST \S+ answered 401: .*missing bearer token.*\n$/);

    const running = publisher([`${service.url}/whip/cli-3`, "--seconds", "30", "--token", "cli-token-123"]);
    await waitFor(
      "the publisher to connect",
      () => Promise.resolve(running.stderr().includes("connected") || undefined),
    );
    await service.stop("SIGKILL");
    const gone = await running.done();
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^publish: the service went away: nothing heard from it for \d+ ms$/m);
    assert.doesNotMatch(gone.stderr, /^\s+at /m, "no stack trace");

    const unreachable = await publisher([`${service.url}/whip/cli-4`, "--seconds", "3"]).done();
    assert.equal(unreachable.code, 1);
    assert.equal(unreachable.stderr.trim().split("\n").length, 1, unreachable.stderr);
    assert.match(unreachable.stderr, /^publish: .*(refused|error sending request)/i);
  } finally {
    await service.stop();
  }
});
