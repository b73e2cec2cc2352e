/**
 * Bad RTMP input against the running service while a real publisher records: ffmpeg pushes the test clip in a loop
 * into `live/main`, and raw TCP clients meanwhile send truncated chunks, Set Chunk Size values above 16 MiB and above
 * 31 bits, unknown AMF commands, a `publish` before `connect` (and one without `createStream`), a handshake that never
 * ends, and 500 idle connections at once. The service must survive every one of them, log each connection's end
 * with the reason it saw (the fault by name, a message cut off by the peer leaving, the unknown commands it was
 * sent), keep serving (a second publish records while the
 * 500 are open), and record `live/main` without a break: one recording, one period, as long as the publish, no gap
 * in the video and a clean decode. It does not test media-level garbage (bad FLV tags): the flv_tags unit tests do.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { CLIP_PATH } from "../scripts/clip.ts";
import { errorMessage } from "../src/shared/errors.ts";
import { HANDSHAKE_PACKET_BYTES, MessageType } from "../src/ingest/rtmp/mod.ts";
import { decodeErrors, probe, run } from "./helpers/media_tools.ts";
import { rawClient, type RawRtmpClient, statusCode } from "./helpers/rtmp_raw_client.ts";
import {
  recordingFinished,
  recordingStarted,
  recordStatus,
  type Service,
  startService,
  waitFor,
} from "./helpers/service.ts";

/** Every `live/*` stream is recorded; an unpublish ends the recording at once, so a dropped publish would show. */
const TOML = `[[recorder.rules]]\nmatch = "live/*"\nsegment_duration = 2\nsplice_window = 0\n`;
/** src/ingest/rtmp_ingest.ts HANDSHAKE_TIMEOUT_MS: a constant, not configurable, so the test waits it out. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
const IDLE_CONNECTIONS = 500;
/** The clip's frame rate; at a loop of the clip, ffmpeg's `-stream_loop` leaves one gap of about two frames. */
const FRAME_S = 1 / 30;
const MAX_VIDEO_GAP_S = 0.1;

const workDir = await Deno.makeTempDir({ prefix: "liverec-rtmp-robust-" });
globalThis.addEventListener("unload", () => Deno.removeSync(workDir, { recursive: true }));

/** The test clip with its Opus made AAC (FLV carries no Opus in ffmpeg 5), video untouched. */
async function aacClip(): Promise<string> {
  const out = join(workDir, "clip_aac.mp4");
  const args = ["-nostdin", "-v", "error", "-y", "-i", CLIP_PATH.pathname, "-c:v", "copy", "-c:a", "aac"];
  const { code, stderr } = await run("ffmpeg", [...args, "-b:a", "128k", out]);
  assert.equal(code, 0, stderr);
  return out;
}

/** ffmpeg pushing `clip` in a loop, in real time, until `stop()`; `exited()` tells whether it ended on its own. */
function loopPublisher(clip: string, url: string) {
  const child = new Deno.Command("ffmpeg", {
    args: ["-nostdin", "-v", "error", "-re", "-stream_loop", "-1", "-i", clip, "-c", "copy", "-f", "flv", url],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const output = child.output().finally(() => (exited = true));
  return {
    exited: () => exited,
    /** SIGINT: ffmpeg ends the publish cleanly (FCUnpublish, deleteStream); resolves with what it printed. */
    async stop(): Promise<string> {
      try {
        child.kill("SIGINT");
      } catch { /* already exited */ }
      return new TextDecoder().decode((await output).stderr);
    },
  };
}

/** Pushes `seconds` of `clip` in real time to `url`. */
function push(clip: string, url: string, seconds: number) {
  return run("ffmpeg", [
    ...["-nostdin", "-v", "error", "-re", "-i", clip, "-t", String(seconds), "-c", "copy", "-f", "flv", url],
  ]);
}

/** Where the log stood when each raw client connected: its close line comes later (ports get reused). */
const logFrom = new WeakMap<RawRtmpClient, number>();

/**
 * The first `rtmp connection closed` line of a connection from `port` after `from`: level, reason, bytes received
 * and the unknown commands it names.
 */
function closeLine(
  service: Service,
  port: number,
  from: number,
): { level: string; reason: string; bytesReceived: number; unknownCommands?: string } | undefined {
  const pattern = new RegExp(
    String.raw`(WARN|INFO|ERROR) +rtmp connection closed id=\d+ remoteAddress=\S+ remotePort=${port} ` +
      String.raw`reason=("(?:[^"\\]|\\.)*"|\S+) bytesReceived=(\d+) mediaMessages=\d+(?: unknownCommands=(\S+))?`,
  );
  const match = pattern.exec(service.logs().slice(from));
  if (match === null) return undefined;
  const reason = match[2]!.startsWith('"') ? JSON.parse(match[2]!) as string : match[2]!;
  const line = { level: match[1]!, reason, bytesReceived: Number(match[3]) };
  return match[4] === undefined ? line : { ...line, unknownCommands: match[4] };
}

/** Waits for the close line of `client`'s connection. */
function closed(service: Service, client: RawRtmpClient) {
  return waitFor(
    `the log line of connection :${client.localPort} closing`,
    () => Promise.resolve(closeLine(service, client.localPort, logFrom.get(client) ?? 0)),
  );
}

/** A raw client to the service's RTMP port that the test closes however it ends. */
async function withClient(service: Service, use: (client: RawRtmpClient) => Promise<void>): Promise<RawRtmpClient> {
  const from = service.logs().length;
  const client = await rawClient(Number(new URL(service.rtmpUrl.replace("rtmp:", "http:")).port));
  logFrom.set(client, from);
  try {
    await use(client);
  } finally {
    client.close();
  }
  return client;
}

/** `connect` to `app`, and its NetConnection.Connect.Success. */
async function connect(client: RawRtmpClient, app = "attack"): Promise<void> {
  await client.send(client.client.command("connect", 1, [new Map([["app", app]])]));
  await client.readUntil("the connect _result", () => client.received.some((m) => m.command?.name === "_result"));
  const result = client.received.find((m) => m.command?.name === "_result")!;
  assert.equal(statusCode(result), "NetConnection.Connect.Success");
}

/** The 4-byte big-endian payload of a Set Chunk Size. */
function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/**
 * A client that trickles its handshake one byte a second and never finishes it; resolves with the client once the
 * server has closed it, no sooner than the handshake timeout (a slow client, not a silent one: the idle timeout must
 * not be what ends it).
 */
function slowHandshake(service: Service) {
  return withClient(service, async (client) => {
    const startMs = Date.now();
    const closedByServer = client.closedByServer(HANDSHAKE_TIMEOUT_MS + 5_000);
    let done = false;
    closedByServer.finally(() => (done = true)).catch(() => {});
    await client.send(Uint8Array.of(3));
    for (let i = 9; !done; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      if (!done) await client.send(Uint8Array.of(i & 0xff)).catch(() => {});
    }
    await closedByServer;
    const elapsedMs = Date.now() - startMs;
    assert.ok(elapsedMs >= HANDSHAKE_TIMEOUT_MS - 500, `closed after ${elapsedMs} ms`);
  });
}

Deno.test("RTMP bad input neither crashes the service nor interrupts a recording in progress", async (t) => {
  const service = await startService({ toml: TOML });
  const clip = await aacClip();
  const publisher = loopPublisher(clip, `${service.rtmpUrl}/live/main`);
  let slow: Promise<RawRtmpClient> | undefined;
  try {
    const started = await recordingStarted(service, "live/main");
    const recordingFromMs = Date.now();
    slow = slowHandshake(service);
    slow.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled

    await t.step("a chunk header cut off mid-way, then a message body cut short: both only closed", async () => {
      const header = await withClient(service, async (c) => {
        await c.handshake();
        await c.send(c.client.command("connect", 1, [new Map([["app", "attack"]])]).subarray(0, 5)); // 5 of 12
      });
      const body = await withClient(service, async (c) => {
        await c.handshake();
        const video = c.client.message(MessageType.Video, 0, 0, new Uint8Array(100).fill(0x17));
        await c.send(video.subarray(0, 12 + 40)); // the header, 40 of 100 bytes
      });
      // The server logs that the peer left in the middle of a message: the header bytes, or the body bytes it had.
      for (const [client, sentBytes, cutBytes] of [[header, 5, 5], [body, 52, 40]] as const) {
        const line = await closed(service, client);
        assert.deepEqual(line, {
          level: "INFO",
          reason: `peer closed the connection, cutting off a message after ${cutBytes} bytes`,
          bytesReceived: 1 + 2 * HANDSHAKE_PACKET_BYTES + sentBytes, // C0, C1, C2, then the cut chunk
        });
      }
    });

    await t.step("Set Chunk Size of 16 MiB + 1 is taken; one of 2^31 is refused by name", async () => {
      const big = await withClient(service, async (c) => {
        await c.handshake();
        await c.send(c.client.setChunkSize(0x100_0001));
        await connect(c); // the connect goes in one chunk of the new size
        // A 16 MiB - 1 message announced in one chunk, of which 1 MiB comes, then the client leaves.
        const announced = c.client.message(MessageType.Video, 0, 0, new Uint8Array(0xff_ffff));
        await c.send(announced.subarray(0, 12 + (1 << 20)));
      });
      const bigLine = await closed(service, big);
      assert.equal(bigLine.reason, `peer closed the connection, cutting off a message after ${1 << 20} bytes`);

      const huge = await withClient(service, async (c) => {
        await c.handshake();
        await c.send(c.client.message(MessageType.SetChunkSize, 0, 0, u32(0x8000_0000), 2));
        await c.send(c.client.command("connect", 1, [new Map([["app", "attack"]])]));
        await c.closedByServer(5_000);
      });
      const hugeLine = await closed(service, huge);
      assert.equal(hugeLine.level, "WARN");
      assert.match(
        hugeLine.reason,
        /^protocol error: .*Set Chunk Size of 2147483648 bytes; it must be 1 to 2147483647/,
      );
    });

    await t.step(
      "unknown AMF commands after connect: answered with _error or ignored; the connection goes on",
      async () => {
        const unknown = await withClient(service, async (c) => {
          await c.handshake();
          await connect(c);
          await c.send(c.client.command("fooBar", 7, [null, "x"]));
          await c.readUntil("the _error of fooBar", () => c.received.some((m) => m.command?.name === "_error"));
          const error = c.received.find((m) => m.command?.name === "_error")!;
          assert.equal(error.command!.values[0], 7, "the transaction id of fooBar");
          assert.equal(statusCode(error), "NetConnection.Call.Failed");
          // Without a transaction id: no answer. AMF3-wrapped: answered like AMF0.
          await c.send(c.client.command("quietCommand", 0, [null]));
          await c.send(c.client.command("amf3Command", 8, [null], { amf3: true }));
          await c.send(c.client.command("createStream", 9, [null]));
          const replies = () => c.received.filter((m) => m.command !== undefined).map((m) => m.command!.values[0]);
          await c.readUntil("the createStream _result", () => replies().includes(9));
          assert.deepEqual(replies(), [1, 7, 8, 9], "connect, fooBar, amf3Command and createStream are answered");
          const created = c.received.at(-1)!;
          assert.deepEqual([created.command!.name, created.command!.values[2]], ["_result", 1]);
        });
        const line = await closed(service, unknown);
        assert.equal(line.reason, "peer closed the connection");
        assert.equal(line.unknownCommands, "fooBar,quietCommand,amf3Command", "the close line names them");
      },
    );

    await t.step("publish before connect, and publish without createStream, are refused by name", async () => {
      const early = await withClient(service, async (c) => {
        await c.handshake();
        await c.send(c.client.command("publish", 2, [null, "early", "live"], { streamId: 1 }));
        await c.closedByServer(5_000);
      });
      const earlyLine = await closed(service, early);
      assert.deepEqual([earlyLine.level, earlyLine.reason], [
        "WARN",
        'protocol error: command "publish" before connect',
      ]);

      const uncreated = await withClient(service, async (c) => {
        await c.handshake();
        await connect(c, "live");
        await c.send(c.client.command("publish", 2, [null, "uncreated", "live"], { streamId: 1 }));
        await c.closedByServer(5_000);
        const refusal = c.received.find((m) => m.command?.name === "onStatus");
        assert.equal(refusal === undefined ? undefined : statusCode(refusal), "NetStream.Publish.BadName");
      });
      const uncreatedLine = await closed(service, uncreated);
      assert.equal(uncreatedLine.reason, "publish refused: publish on stream 1, which createStream did not make");
      assert.equal((await recordStatus(service, "live/uncreated")).stream_live, false);
    });

    await t.step(`${IDLE_CONNECTIONS} idle connections at once: the service keeps serving`, async () => {
      const port = Number(new URL(service.rtmpUrl.replace("rtmp:", "http:")).port);
      const idle: Deno.TcpConn[] = [];
      try {
        for (let batch = 0; batch < IDLE_CONNECTIONS; batch += 50) {
          const conns = await Promise.all(
            Array.from({ length: 50 }, () => Deno.connect({ hostname: "127.0.0.1", port })),
          );
          idle.push(...conns);
        }
        // Half send nothing, half only C0.
        await Promise.all(idle.filter((_, i) => i % 2 === 1).map((conn) => conn.write(Uint8Array.of(3))));
        const ports = new Set(idle.map((conn) => (conn.localAddr as Deno.NetAddr).port));
        const opened = () =>
          [...service.logs().matchAll(/rtmp connection opened id=\d+ remoteAddress=\S+ remotePort=(\d+)/g)]
            .filter((m) => ports.has(Number(m[1]))).length;
        await waitFor(`${IDLE_CONNECTIONS} connections accepted`, () => {
          return Promise.resolve(opened() === IDLE_CONNECTIONS || undefined);
        }).catch((error) => {
          // Once, in a loaded clean-checkout run, they were not all accepted within the wait: say how many were.
          throw new Error(`${errorMessage(error)} (${opened()} accepted)`);
        });

        const health = await service.fetch("/healthz");
        assert.equal(health.status, 200, await health.text());
        const before = await recordStatus(service, "live/main");
        const second = await push(clip, `${service.rtmpUrl}/live/second`, 3);
        assert.equal(second.code, 0, second.stderr);
        await recordingFinished(service, "live/second");
        const after = await recordStatus(service, "live/main");
        assert.equal(after.record_id, started.record_id, "live/main is still the same recording");
        assert.ok(after.segments! > before.segments!, `live/main goes on: ${before.segments} -> ${after.segments}`);
        assert.equal(opened(), IDLE_CONNECTIONS);
        const timedOut = [...service.logs().matchAll(/remotePort=(\d+) reason="(?:no handshake|idle)/g)]
          .filter((m) => ports.has(Number(m[1])));
        assert.deepEqual(timedOut, [], "the server closed none of them yet");
      } finally {
        for (const conn of idle) conn.close();
      }
      const secondRow = await waitFor("the second recording in the index", async () => {
        const listing = await (await service.fetch(`/api/recordings?stream=live/second&from=2000-01-01T00:00:00Z`))
          .json();
        return listing.recordings[0] as { mpd_path: string } | undefined;
      });
      const secondMpd = join(service.root, secondRow.mpd_path);
      assert.equal(await decodeErrors(secondMpd), "");
      const frames = Number((await probe(secondMpd)).streams.find((s) => s.codec_type === "video")?.nb_read_frames);
      assert.ok(Math.abs(frames - 90) <= 1, `the second publish's 3 s recorded: ${frames} frames`);
    });

    await t.step("a handshake trickled a byte a second is ended after 10 s", async () => {
      const client = await slow!;
      const line = await closed(service, client);
      assert.deepEqual([line.level, line.reason], ["INFO", `no handshake within ${HANDSHAKE_TIMEOUT_MS} ms`]);
    });

    // The first publish ran through all of it: still connected, one recording, one period.
    assert.equal(publisher.exited(), false, "ffmpeg is still publishing live/main");
    const health = await service.fetch("/healthz");
    assert.equal(health.status, 200, await health.text());
    assert.doesNotMatch(service.logs(), /publish ended stream=live\/main /, "live/main was never unpublished");
    const publishedMs = Date.now() - recordingFromMs;
    const stderr = await publisher.stop();
    await recordingFinished(service, "live/main");
    const listing = await (await service.fetch(`/api/recordings?stream=live/main&from=2000-01-01T00:00:00Z`)).json();
    const rows = listing.recordings as { record_id: string; mpd_path: string; periods: number; duration_s: number }[];
    assert.deepEqual(rows.map((r) => [r.record_id, r.periods]), [[started.record_id, 1]], stderr);
    const row = rows[0]!;
    assert.ok(row.duration_s >= publishedMs / 1000 - 1, `${row.duration_s} s recorded of ${publishedMs} ms published`);
    const mpd = join(service.root, row.mpd_path);
    const mpdText = await Deno.readTextFile(mpd);
    assert.equal(mpdText.match(/<Period /g)?.length, 1, mpdText);
    assert.equal(await decodeErrors(mpd), "");
    const { stdout } = await run("ffprobe", [
      ...["-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time", "-of", "csv=p=0", mpd],
    ]);
    const pts = stdout.trim().split("\n").map(Number).sort((a, b) => a - b);
    assert.ok(pts.length >= (publishedMs / 1000 - 1) / FRAME_S, `${pts.length} frames in ${publishedMs} ms`);
    const gaps = pts.slice(1).map((p, i) => p - pts[i]!).filter((gap) => gap > MAX_VIDEO_GAP_S);
    assert.deepEqual(gaps, [], "no break in the video");

    const logs = service.logs();
    assert.equal(logs.match(/publish started stream=live\/main /g)?.length, 1, "published once");
    assert.equal(logs.match(/publish ended stream=live\/main /g)?.length, 1, "ended once, when ffmpeg stopped");
    assert.doesNotMatch(logs, /rtmp session failed|rtmp handler failed|Uncaught/);
    assert.equal(await service.stop(), 0, `the service exits cleanly:\n${service.logs().slice(-3000)}`);
  } finally {
    await publisher.stop();
    await slow?.catch(() => {});
    await service.stop();
  }
});

Deno.test("a second publish on one RTMP connection is refused; the first ends with the connection and can come back", async () => {
  const clip = await aacClip();
  const service = await startService({ toml: TOML });
  const raw = await rawClient(Number(new URL(service.rtmpUrl).port));
  try {
    await raw.handshake();
    await raw.send(raw.client.command("connect", 1, [new Map([["app", "live"]])]));
    await raw.send(raw.client.command("createStream", 2, [null]));
    await raw.send(raw.client.command("createStream", 3, [null]));
    await raw.send(raw.client.command("publish", 4, [null, "a", "live"], { streamId: 1 }));
    await raw.readUntil(
      "live/a published",
      () => raw.received.some((m) => statusCode(m) === "NetStream.Publish.Start"),
    );
    await raw.send(raw.client.command("publish", 5, [null, "b", "live"], { streamId: 2 }));
    await raw.closedByServer(5_000);
    const refusal = raw.received.find((m) => statusCode(m) === "NetStream.Publish.BadName");
    assert.ok(refusal !== undefined, "the second publish gets an error onStatus");
    assert.match(
      String((refusal.command?.values.at(-1) as Map<string, unknown>).get("description")),
      /already publishes "live\/a"/,
    );
    await waitFor("live/a to end", async () => (await recordStatus(service, "live/a")).stream_live ? undefined : true);
    const again = await push(clip, `${service.rtmpUrl}/live/a`, 2);
    assert.equal(again.code, 0, again.stderr);
  } finally {
    raw.close();
    await service.stop();
  }
});
