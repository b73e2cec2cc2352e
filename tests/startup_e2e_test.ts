/**
 * Start-up: a storage backend that does not answer is logged and the service runs; a second liverec on the same
 * folders, a busy port, `--version` and `--help` each get one clear line.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { run } from "./helpers/media_tools.ts";
import { recordStatus, startService, waitFor } from "./helpers/service.ts";
import { startTaskFlags } from "../scripts/start_flags.ts";

Deno.test("an unreachable S3 endpoint is reported at start-up without refusing to start", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const dir = await Deno.makeTempDir({ prefix: "liverec-unreachable-" });
  const service = await startService({
    dir,
    toml: `[recorder]\nspool_dir = ${JSON.stringify(join(dir, "spool"))}\n\n[recorder.storage]\ntype = "s3"\n` +
      `bucket = "recordings"\nendpoint = "http://127.0.0.1:${port}"\naccess_key_id = "k"\nsecret_access_key = "s"\n`,
  });
  try {
    assert.match(service.logs(), /storage backend check failed; recording continues locally/);
    assert.match(service.logs(), /the endpoint is unreachable/);
    const status = await (await service.fetch("/api/storage")).json();
    assert.equal(status.local_dir, join(dir, "spool"));
    assert.match(status.backend, /^s3:/);
    const health = await service.fetch("/healthz");
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true });
  } finally {
    await service.stop();
  }
});

/** Runs main.ts with `args` to its end; answers its exit code and what it printed on stderr. */
async function runLiverec(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL("../main.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: output.code, stdout: text.decode(output.stdout), stderr: text.decode(output.stderr) };
}

Deno.test("a second liverec on the same folders is refused before it recovers anything; the first records on", async () => {
  const first = await startService({ toml: `[recorder]\nauto_streams = ["live/*"]\nsegment_duration = 1\n` });
  try {
    const pushing = run("ffmpeg", [
      ...["-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "6"],
      ...["-c:v", "libx264", "-g", "30", "-pix_fmt", "yuv420p", "-f", "flv", `${first.rtmpUrl}/live/cam`],
    ]);
    const status = await waitFor("the recording to have a segment", async () => {
      const answer = await recordStatus(first, "live/cam");
      return answer.recording && (answer.segments ?? 0) > 0 ? answer : undefined;
    });
    const second = await runLiverec(["--config", join(first.dir, "config.toml")]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /^liverec: another liverec \(pid \d+\) is using \S+; stop it first\n$/);
    const mpd = await Deno.readTextFile(join(first.root, status.mpd_path!));
    assert.match(mpd, /type="dynamic"/, "the running recording was not finalized under it");
    assert.equal((await pushing).code, 0);
    assert.equal((await recordStatus(first, "live/cam")).recording, true, "still recording after the refusal");
    // fs storage: the local folder is the storage root, which is not counted; the keys are snake_case.
    const storage = await (await first.fetch("/api/storage")).json();
    assert.deepEqual([storage.local_dir, storage.local_bytes, storage.upload], [first.root, null, null]);
  } finally {
    await first.stop();
  }
});

Deno.test("a busy HTTP or RTMP port stops liverec with one line that says so", async () => {
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const dir = await Deno.makeTempDir({ prefix: "liverec-busy-" });
    const port = (busy.addr as Deno.NetAddr).port;
    const config = join(dir, "config.toml");
    await Deno.writeTextFile(
      config,
      `[http]\nlisten = "127.0.0.1:${port}"\n[rtmp]\nenabled = false\n[recorder]\nstate_dir = "${dir}/state"\n` +
        `[recorder.storage]\nroot = "${dir}/records"\n`,
    );
    const result = await runLiverec(["--config", config]);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `liverec: cannot listen on 127.0.0.1:${port}: address in use\n`);
    await Deno.writeTextFile(
      config,
      `[http]\nlisten = "127.0.0.1:0"\n[rtmp]\nlisten = "127.0.0.1:${port}"\n[recorder]\nstate_dir = "${dir}/state"\n` +
        `[recorder.storage]\nroot = "${dir}/records"\n`,
    );
    const rtmp = await runLiverec(["--config", config]);
    assert.equal(rtmp.code, 1);
    assert.equal(rtmp.stderr, `liverec: cannot listen for RTMP on 127.0.0.1:${port}: address in use\n`);
  } finally {
    busy.close();
  }
});

Deno.test("liverec --version and --help answer and exit", async () => {
  const version = await runLiverec(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^liverec \d+\.\d+\.\d+ \(Deno \d+\.\d+\.\d+, \S+\)\n$/);
  const help = await runLiverec(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: liverec \[--config config\.toml\] \[--log-format text\|json\]/);
  const refusals: [string[], string][] = [
    [["--log-format", "xml"], '--log-format must be one of text, json, got "xml"'],
    [["--log-level", "loud"], '--log-level must be one of debug, info, warn, error, got "loud"'],
    [["--confg", "x.toml"], 'unknown flag "--confg"; see --help'],
    [["--config"], "--config needs a value"],
  ];
  for (const [args, message] of refusals) {
    const result = await runLiverec(args);
    assert.equal(result.code, 2, args.join(" "));
    assert.equal(result.stderr, `liverec: ${message}\n`);
  }
});

Deno.test("--log-format json: every line liverec logs, start to stop, is one JSON object", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liverec-json-log-" });
  const config = join(dir, "config.toml");
  await Deno.writeTextFile(
    config,
    `[http]\nlisten = "127.0.0.1:0"\n[rtmp]\nlisten = "127.0.0.1:0"\n[webrtc]\nudp_port = 0\n` +
      `[recorder]\nstate_dir = "${dir}/state"\n[recorder.storage]\nroot = "${dir}/records"\n`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL("../main.ts", import.meta.url).pathname,
      "--config",
      config,
      "--log-format",
      "json",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stderr) text += decoder.decode(chunk, { stream: true });
  })();
  await waitFor("liverec to listen", () => Promise.resolve(text.includes("liverec listening") ? true : undefined));
  child.kill("SIGTERM");
  assert.equal((await child.status).code, 0);
  await reading;
  const lines = text.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
  const listening = lines.find((line) => line.msg === "liverec listening");
  assert.match(String(listening?.url), /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(listening?.level, "info");
  assert.ok(lines.every((line) => typeof line.time === "string" && typeof line.level === "string"), text);
  assert.equal(lines.at(-1)?.msg, "stopped");
});

Deno.test("`npm start` runs the service with `deno task start`'s flags, which the tests and the benchmark use too", async () => {
  const root = new URL("..", import.meta.url);
  const npm = JSON.parse(await Deno.readTextFile(new URL("package.json", root))).scripts.start;
  assert.equal(npm, `exec node_modules/deno/deno run ${startTaskFlags().join(" ")} main.ts`);
});

const LAUNCHERS = [
  { name: "npm start", command: "npm", args: ["start", "--"] },
  { name: "deno task start", command: Deno.execPath(), args: ["task", "start"] },
];

for (const { name, command, args } of LAUNCHERS) {
  Deno.test(`SIGTERM to \`${name}\` reaches the service: it finalizes and stops, and nothing is left running`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "liverec-launcher-" });
    const config = join(dir, "config.toml");
    await Deno.writeTextFile(
      config,
      `[http]\nlisten = "127.0.0.1:0"\n[rtmp]\nenabled = false\n[recorder]\nstate_dir = "${dir}/state"\n` +
        `[recorder.storage]\nroot = "${dir}/records"\n`,
    );
    const child = new Deno.Command(command, {
      args: [...args, "--config", config],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let output = "";
    const decoder = new TextDecoder();
    const pumps = Promise.all([child.stdout, child.stderr].map(async (stream) => {
      for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
    }));
    const running = () => run("pgrep", ["-f", `main.ts --config ${config}`]);
    try {
      await waitFor("the service to listen", () => Promise.resolve(/liverec listening/.test(output) || undefined));
      child.kill("SIGTERM");
      await child.status;
      await waitFor("the service to stop", () => Promise.resolve(/\bstopped\b/.test(output) || undefined));
      assert.match(output, /stopping: finalizing recordings signal=SIGTERM/);
      assert.equal((await running()).code, 1, `no liverec left running:\n${(await running()).stdout}`);
    } finally {
      await run("pkill", ["-f", `main.ts --config ${config}`]);
      await pumps;
    }
  });
}
