/**
 * The single binaries (`deno task compile`, built with Bun): built offline when the test can cut the network; the x64
 * one, alone in an empty folder, records a WHIP publish, plays it back through the object route and finalizes on
 * SIGTERM; the arm64 one is an aarch64 executable that runs under qemu-user and refuses object storage in one line.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadClip } from "../scripts/clip.ts";
import { decodeErrors, probe, run } from "./helpers/media_tools.ts";
import { which } from "./helpers/obs.ts";
import {
  objectUrl,
  publishInBackground,
  recordingFinished,
  recordingStarted,
  recordStatus,
  startService,
  waitFor,
} from "./helpers/service.ts";

const clip = await loadClip();
const ROOT = new URL("..", import.meta.url).pathname;
/** ELF e_machine values (the 16-bit field at byte 18 of the header). */
const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const ARM64_LIBC = "/usr/aarch64-linux-gnu";

let built: Promise<string> | undefined;

/** Builds both binaries once, into a temporary folder; with root, inside a network namespace of its own. */
function binaries(): Promise<string> {
  built ??= (async () => {
    const out = await Deno.makeTempDir({ prefix: "liverec-dist-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(out, { recursive: true }));
    const compile = [Deno.execPath(), "run", "--allow-all", join(ROOT, "scripts/compile.ts"), "--out", out];
    const offline = Deno.uid() === 0 && (await which("unshare")) !== undefined;
    const [cmd, ...args] = offline ? ["unshare", "--net", ...compile] : compile;
    const result = await run(cmd!, args);
    assert.equal(result.code, 0, `deno task compile failed:\n${result.stdout}\n${result.stderr}`);
    if (!offline) console.log("binary_e2e_test: not root, so the build was not cut off from the network");
    return out;
  })();
  return built;
}

async function elfMachine(path: string): Promise<number> {
  using file = await Deno.open(path);
  const header = new Uint8Array(20);
  await file.read(header);
  assert.deepEqual([...header.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], `${path} is an ELF file`);
  return header[18]! | header[19]! << 8;
}

Deno.test("the x64 binary alone in an empty folder records WHIP, plays it back and finalizes on SIGTERM", async () => {
  const binary = join(await binaries(), "liverec-linux-x64");
  assert.equal(await elfMachine(binary), EM_X86_64);
  const dir = await Deno.makeTempDir({ prefix: "liverec-binary-" });
  await Deno.copyFile(binary, join(dir, "liverec"));
  const service = await startService({
    dir,
    command: join(dir, "liverec"),
    toml: `[recorder]\nauto_streams = ["*"]\nsegment_duration = 2\n`,
  });
  try {
    assert.match(service.logs(), /runtime="Bun \d/);
    // JSC's FTL is off: the binary started itself again with the option set, as the same process.
    const environ = (await Deno.readTextFile(`/proc/${service.pid}/environ`)).split("\0");
    assert.ok(environ.includes("BUN_JSC_useFTLJIT=0"), "the binary runs with BUN_JSC_useFTLJIT=0");
    // The web console and its players are inside the binary.
    const page = await service.fetch("/");
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>liverec<\/title>/);
    for (const asset of ["console.js", "console.css", "dash.all.min.js", "hls.min.js"]) {
      const response = await service.fetch(`/console/${asset}`);
      assert.equal(response.status, 200, asset);
      assert.ok((await response.bytes()).length > 1000, asset);
    }

    // A whole publish, then played back by ffmpeg from the object route and as the MP4 download.
    const first = publishInBackground({ url: `${service.url}/whip/one`, seconds: 5, clip });
    const started = await recordingStarted(service, "one");
    const sent = await first.result;
    await recordingFinished(service, "one");
    const mpdUrl = objectUrl(service, started.mpd_path);
    assert.equal(await decodeErrors(mpdUrl), "");
    const video = (await probe(mpdUrl)).streams.find((s) => s.codec_type === "video");
    assert.equal(Number(video?.nb_read_frames), sent.videoFrames, "every frame sent, served by the binary");
    // libsrtp (installed by scripts/test_deps.sh) decrypted it, through Bun's FFI.
    assert.match(service.logs(), /publish connected stream=one srtp="libsrtp SRTP_AEAD_AES_128_GCM"/);
    const mp4 = `${service.url}/api/recordings/${started.record_id}/mp4`;
    assert.equal(await decodeErrors(mp4), "");

    // A SIGTERM while a publish is being recorded finalizes that recording before the process exits with 0.
    const abort = new AbortController();
    const second = publishInBackground({ url: `${service.url}/whip/two`, seconds: 30, clip, signal: abort.signal });
    const recording = await recordingStarted(service, "two");
    await waitFor(
      "a segment of two",
      async () => ((await recordStatus(service, "two")).segments ?? 0) >= 1 || undefined,
    );
    assert.equal(await service.stop("SIGTERM"), 0, service.logs());
    abort.abort();
    await second.result.catch(() => {});
    const mpd = join(service.root, recording.mpd_path);
    assert.match(await Deno.readTextFile(mpd), /type="static"/);
    assert.equal(await decodeErrors(mpd), "");
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).filter((name) => name === "node_modules"),
      [],
    );
  } finally {
    await service.stop();
  }
});

const qemu = await which("qemu-aarch64");
const arm64Libc = await Deno.stat(join(ARM64_LIBC, "lib/ld-linux-aarch64.so.1")).then(() => true, () => false);

Deno.test("the arm64 binary is an aarch64 executable; under qemu it runs, and refuses S3 storage in one line", async () => {
  const binary = join(await binaries(), "liverec-linux-arm64");
  assert.equal(await elfMachine(binary), EM_AARCH64);
  if (qemu === undefined || !arm64Libc) {
    console.log("binary_e2e_test: SKIPPED running the arm64 binary: qemu-user or libc6-arm64-cross is not installed");
    return;
  }
  const version = await run(qemu, ["-L", ARM64_LIBC, binary, "--version"]);
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /^liverec \d+\.\d+\.\d+ \(Bun \d+\.\d+\.\d+, linux-arm64\)\n$/);

  const dir = await Deno.makeTempDir({ prefix: "liverec-arm64-" });
  await Deno.writeTextFile(
    join(dir, "config.toml"),
    `[recorder]\nstate_dir = "${dir}/state"\nspool_dir = "${dir}/spool"\n\n[recorder.storage]\ntype = "s3"\n` +
      `bucket = "records"\nendpoint = "http://127.0.0.1:9"\naccess_key_id = "k"\nsecret_access_key = "s"\n`,
  );
  const s3 = await run(qemu, ["-L", ARM64_LIBC, binary, "--config", join(dir, "config.toml")]);
  assert.equal(s3.code, 1);
  assert.match(s3.stderr, /^liverec: storage type "s3" needs OpenDAL's native addon, which this build for linux-arm64/);
  assert.equal(s3.stderr.trim().split("\n").length, 1, s3.stderr);
});
