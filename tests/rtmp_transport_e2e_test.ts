/**
 * End to end for the RTMP transport alone (src/ingest/rtmp): its server on 127.0.0.1, port 0, takes real
 * publishers over loopback, FFmpeg's rtmp protocol and GStreamer's rtmp2sink, and a raw client with the largest
 * chunk size there is. What the handler receives is judged against ffprobe's packet counts of what was sent.
 *
 * The test clip's audio is Opus, which FLV (FFmpeg 5's flv muxer, GStreamer's flvmux) cannot carry, so the
 * publishers send a copy of it with the video untouched and the audio re-encoded to AAC, made once per run.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { run } from "./helpers/media_tools.ts";
import { rawClient, SERVER_HANDSHAKE_BYTES, statusCode } from "./helpers/rtmp_raw_client.ts";
import {
  MessageType,
  type RtmpConnectionInfo,
  type RtmpMediaEvent,
  type RtmpPublishDecision,
  type RtmpPublishEvent,
  RtmpServer,
  type RtmpServerEvent,
} from "../src/ingest/rtmp/mod.ts";
import { concat } from "../src/shared/testing.ts";

const CLIP = new URL("./fixtures/clip.mp4", import.meta.url).pathname;

const workDir = await Deno.makeTempDir({ prefix: "liverec-rtmp-" });
globalThis.addEventListener("unload", () => Deno.removeSync(workDir, { recursive: true }));
const AAC_CLIP = join(workDir, "clip_aac.mp4");

/**
 * The clip with AAC audio, and its packet counts per kind as ffprobe counts them; `audioDiscarded` counts the AAC
 * packets ffprobe flags "D" (the encoder's priming packet, which the MP4 edit list cuts: GStreamer's qtdemux drops
 * it, FFmpeg sends it).
 */
const aacClip: Promise<{ video: number; audio: number; audioDiscarded: number; videoDtsMs: number[] }> = (async () => {
  const made = await run("ffmpeg", ["-nostdin", "-v", "error", "-i", CLIP, "-c:v", "copy", "-c:a", "aac", AAC_CLIP]);
  if (made.code !== 0) throw new Error(`ffmpeg could not make the AAC copy of the clip: ${made.stderr}`);
  const probed = await run("ffprobe", [
    "-v",
    "error",
    "-count_packets",
    "-show_entries",
    "stream=codec_type,codec_name,nb_read_packets",
    "-of",
    "json",
    AAC_CLIP,
  ]);
  const streams = (JSON.parse(probed.stdout) as {
    streams: { codec_type: string; codec_name: string; nb_read_packets: string }[];
  }).streams;
  const count = (kind: string, codec: string) => {
    const stream = streams.find((s) => s.codec_type === kind);
    assert.equal(stream?.codec_name, codec, `the publish copy's ${kind} codec`);
    return Number(stream.nb_read_packets);
  };
  const flags = await run("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "a",
    "-show_entries",
    "packet=flags",
    "-of",
    "csv=p=0",
    AAC_CLIP,
  ]);
  const audioDiscarded = flags.stdout.split("\n").filter((line) => line.includes("D")).length;
  const dts = await run("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v",
    "-show_entries",
    "packet=dts_time",
    "-of",
    "csv=p=0",
    AAC_CLIP,
  ]);
  const videoDtsMs = dts.stdout.trim().split("\n").map((line) => Number(line) * 1000);
  return { video: count("video", "h264"), audio: count("audio", "aac"), audioDiscarded, videoDtsMs };
})();

/** A server whose handler records everything and decides publishes with `decide`. */
async function startServer(
  decide: (request: RtmpPublishEvent) => RtmpPublishDecision | Promise<RtmpPublishDecision> = () => ({ accept: true }),
  timeouts = { handshakeTimeoutMs: 5_000, idleTimeoutMs: 10_000 },
) {
  const publishes: RtmpPublishEvent[] = [];
  const events: { connection: RtmpConnectionInfo; event: RtmpServerEvent }[] = [];
  const server = new RtmpServer({
    ...timeouts,
    handler: {
      decidePublish(request) {
        publishes.push(request);
        return decide(request);
      },
      onEvent(event, connection) {
        events.push({ connection, event });
      },
    },
  });
  const { port } = await server.listen({ hostname: "127.0.0.1", port: 0 });
  const closed = () => events.find((e) => e.event.type === "close")?.event as RtmpServerEvent & { type: "close" };
  return { server, port, publishes, events, closed };
}

/** Video frame timestamps, relative to the first, are the clip's decoding times within the 1 ms FLV resolution. */
function assertFrameTimes(frames: readonly RtmpMediaEvent[], dtsMs: readonly number[]): void {
  assert.equal(frames.length, dtsMs.length);
  const firstMs = frames[0]!.timestampMs;
  frames.forEach((frame, i) => {
    const expectedMs = dtsMs[i]! - dtsMs[0]!;
    assert.ok(
      Math.abs(frame.timestampMs - firstMs - expectedMs) <= 1,
      `frame ${i}: ${frame.timestampMs} ms, dts ${expectedMs} ms`,
    );
  });
}

/** gst-launch-1.0 arguments: the AAC clip demuxed, flvmux'd and sent by rtmp2sink (with `sinkProperties`). */
function gstPipeline(port: number, name: string, sinkProperties: string[] = []): string[] {
  const video = ["d.video_0", "!", "queue", "!", "h264parse", "!", "flvmux", "name=m", "streamable=true"];
  const sink = ["rtmp2sink", ...sinkProperties, `location=rtmp://127.0.0.1:${port}/live/${name}`];
  const audio = ["d.audio_0", "!", "queue", "!", "aacparse", "!", "m."];
  return ["-q", "filesrc", `location=${AAC_CLIP}`, "!", "qtdemux", "name=d", ...video, "!", ...sink, ...audio];
}

/** Runs a publisher to its end, killed after `timeoutMs`; never leaves it running. */
async function runPublisher(cmd: string, args: string[], timeoutMs = 20_000) {
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
  const timer = setTimeout(() => kill(child), timeoutMs);
  try {
    const output = await child.output();
    const decoder = new TextDecoder();
    return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
  } finally {
    clearTimeout(timer);
    kill(child);
  }
}

function kill(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // already exited
  }
}

/** Polls `check` until it holds, with a deadline (no sleeps as synchronisation). */
async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The media events, per kind, with their timestamps checked to never go back. */
function mediaByKind(events: readonly { event: RtmpServerEvent }[]) {
  const media = events.map((e) => e.event).filter((e): e is RtmpMediaEvent => e.type === "media");
  const byKind = { video: media.filter((m) => m.kind === "video"), audio: media.filter((m) => m.kind === "audio") };
  for (const [kind, list] of Object.entries(byKind)) {
    list.forEach((m, i) => {
      if (i > 0) assert.ok(m.timestampMs >= list[i - 1]!.timestampMs, `${kind} ${i}: ${m.timestampMs} goes back`);
    });
  }
  return byKind;
}

Deno.test("RTMP: FFmpeg publishes the clip (-c copy -f flv): publish fields, every packet, timestamps in order", async () => {
  const sent = await aacClip;
  const { server, port, publishes, events, closed } = await startServer();
  try {
    const ffmpeg = await runPublisher("ffmpeg", [
      "-nostdin",
      "-hide_banner",
      "-v",
      "error",
      "-re",
      "-i",
      AAC_CLIP,
      "-c",
      "copy",
      "-f",
      "flv",
      `rtmp://127.0.0.1:${port}/live/cam1?token=abc`,
    ]);
    assert.equal(ffmpeg.code, 0, ffmpeg.stderr);
    await waitFor("the connection's close event", () => closed() !== undefined);

    assert.equal(publishes.length, 1);
    const publish = publishes[0]!;
    assert.deepEqual(
      [publish.app, publish.name, publish.query.get("token"), publish.publishType, publish.tcUrl],
      ["live", "cam1", "abc", "live", `rtmp://127.0.0.1:${port}/live`],
    );
    const { video, audio } = mediaByKind(events);
    // FFmpeg's flv muxer sends each track's sequence header first, and ends H.264 with an end-of-sequence tag;
    // it sends every AAC packet, the priming one included.
    assert.equal(video.length, sent.video + 2, "video messages: packets + sequence header + end of sequence");
    assert.equal(audio.length, sent.audio + 1, "audio messages: packets + sequence header");
    assertFrameTimes(video.slice(1, -1), sent.videoDtsMs);
    assert.equal(closed()!.stats.peerChunkSizeBytes, 4096, "FFmpeg's own chunk size");

    const metadata = events.map((e) => e.event).find((e) => e.type === "metadata");
    assert.ok(metadata?.type === "metadata" && metadata.metadata instanceof Map, "onMetaData");
    assert.equal(metadata.metadata.get("width"), 1280);
    assert.equal(metadata.metadata.get("height"), 720);

    const types = events.map((e) => e.event.type).filter((t) => t !== "media" && t !== "metadata");
    assert.deepEqual(types, ["connect", "unpublish", "close"]);
    assert.equal(closed()!.protocolError, false);
  } finally {
    await server.close();
  }
});

Deno.test("RTMP: GStreamer (flvmux ! rtmp2sink) publishes the clip: every packet, timestamps in order", async () => {
  const sent = await aacClip;
  const { server, port, publishes, events, closed } = await startServer();
  try {
    const gst = await runPublisher("gst-launch-1.0", gstPipeline(port, "cam2"));
    assert.equal(gst.code, 0, gst.stderr + gst.stdout);
    await waitFor("the connection's close event", () => closed() !== undefined);

    assert.deepEqual(publishes.map((p) => [p.app, p.name, p.publishType]), [["live", "cam2", "live"]]);
    const { video, audio } = mediaByKind(events);
    // flvmux sends each track's codec data (sequence header) first and ends H.264 with an end-of-sequence tag;
    // qtdemux hands it the AAC packets but the priming one.
    assert.equal(video.length, sent.video + 2, "video messages: packets + sequence header + end of sequence");
    assert.equal(audio.length, sent.audio - sent.audioDiscarded + 1, "audio messages: kept packets + sequence header");
    assertFrameTimes(video.slice(1, -1), sent.videoDtsMs);
    assert.equal(closed()!.stats.peerChunkSizeBytes, 128, "rtmp2sink's default chunk size: messages in many chunks");
    assert.ok(events.some((e) => e.event.type === "metadata"), "onMetaData");
    assert.equal(closed()!.protocolError, false, closed()!.reason);
  } finally {
    await server.close();
  }
});

Deno.test("RTMP: a refused publish makes FFmpeg fail with the server's description", async () => {
  const { server, port, publishes, closed } = await startServer(async () => {
    await new Promise((resolve) => setTimeout(resolve, 50)); // an asynchronous decision, as a token check would be
    return { accept: false, code: "NetStream.Publish.Unauthorized", description: "token rejected" };
  });
  try {
    const ffmpeg = await runPublisher("ffmpeg", [
      "-nostdin",
      "-hide_banner",
      "-re",
      "-i",
      AAC_CLIP,
      "-c",
      "copy",
      "-f",
      "flv",
      `rtmp://127.0.0.1:${port}/live/cam3?token=wrong`,
    ]);
    assert.notEqual(ffmpeg.code, 0);
    assert.match(ffmpeg.stderr, /token rejected/);
    assert.equal(publishes[0]?.query.get("token"), "wrong");
    await waitFor("the connection's close event", () => closed() !== undefined);
    assert.match(closed()!.reason, /^publish refused: cam3: NetStream.Publish.Unauthorized: token rejected/);
  } finally {
    await server.close();
  }
});

Deno.test("RTMP: GStreamer with a chunk size of 0x7FFFFFFF publishes every packet", async () => {
  const sent = await aacClip;
  const { server, port, events, closed } = await startServer();
  try {
    const gst = await runPublisher("gst-launch-1.0", gstPipeline(port, "big", ["chunk-size=2147483647"]));
    assert.equal(gst.code, 0, gst.stderr + gst.stdout);
    await waitFor("the connection's close event", () => closed() !== undefined);
    const { video, audio } = mediaByKind(events);
    assert.deepEqual([video.length, audio.length], [sent.video + 2, sent.audio - sent.audioDiscarded + 1]);
    assertFrameTimes(video.slice(1, -1), sent.videoDtsMs);
    assert.equal(closed()!.protocolError, false, closed()!.reason);
    assert.equal(closed()!.stats.peerChunkSizeBytes, 0x7fff_ffff, "GStreamer announced the chunk size");
  } finally {
    await server.close();
  }
});

Deno.test("RTMP: a raw client's Set Chunk Size 0x7FFFFFFF, then a 1 MiB video message in one chunk", async () => {
  const { server, port, events, closed } = await startServer();
  const { conn, client, received, readUntil, handshakeBytes } = await rawClient(port);
  try {
    await conn.write(client.c0c1());
    await readUntil("S0+S1+S2", () => handshakeBytes() >= 3073);
    await conn.write(client.c2());
    await conn.write(client.setChunkSize(0x7fff_ffff));
    const properties = new Map([["app", "live"], ["tcUrl", `rtmp://127.0.0.1:${port}/live`]]);
    await conn.write(client.command("connect", 1, [properties]));
    await conn.write(client.command("createStream", 2, [null]));
    await conn.write(client.command("publish", 3, [null, "raw", "live"], { streamId: 1 }));
    await readUntil("NetStream.Publish.Start", () => received.some((m) => statusCode(m) === "NetStream.Publish.Start"));
    const payload = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 13) & 0xff);
    const message = client.message(MessageType.Video, 1, 40, payload, 6);
    assert.equal(message.length, 12 + payload.length, "one chunk: a type 0 header and the payload");
    await conn.write(message);
    await waitFor("the video message", () => events.some((e) => e.event.type === "media"));
    const media = events.find((e) => e.event.type === "media")!.event as RtmpMediaEvent;
    assert.equal(media.timestampMs, 40);
    assert.deepEqual(media.payload, payload);
  } finally {
    conn.close();
    await server.close();
  }
  await waitFor("the close event", () => closed() !== undefined);
  assert.deepEqual(events.map((e) => e.event.type), ["connect", "media", "unpublish", "close"]);
});

Deno.test("RTMP: a publisher that waits for each Acknowledgement of its window is read at once, however fast it is", async () => {
  // Read in batches, a socket wakes the server only once its low-water mark of bytes waits; a mark above the
  // publisher's window would leave it waiting for our Acknowledgement until the next tuning, each second.
  const WINDOW_BYTES = 64 * 1024;
  const { server, port, events } = await startServer();
  const { client, received, send, readUntil, close, handshakeBytes } = await rawClient(port);
  let sentBytes = 0;
  const sendCounted = async (bytes: Uint8Array) => {
    await send(bytes);
    sentBytes += bytes.length;
  };
  const u32 = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  const ackedBytes = () =>
    u32(received.findLast((m) => m.typeId === MessageType.Acknowledgement)?.payload ?? new Uint8Array(4));
  try {
    const windowPayload = new Uint8Array(4);
    new DataView(windowPayload.buffer).setUint32(0, WINDOW_BYTES);
    await sendCounted(client.c0c1());
    await readUntil("S0+S1+S2", () => handshakeBytes() >= SERVER_HANDSHAKE_BYTES);
    await sendCounted(client.c2());
    await sendCounted(client.setChunkSize(65_536));
    await sendCounted(client.message(MessageType.WindowAckSize, 0, 0, windowPayload, 2));
    await sendCounted(client.command("connect", 1, [new Map([["app", "live"]])]));
    await sendCounted(client.command("createStream", 2, [null]));
    await sendCounted(client.command("publish", 3, [null, "windowed", "live"], { streamId: 1 }));
    await readUntil("NetStream.Publish.Start", () => received.some((m) => statusCode(m) === "NetStream.Publish.Start"));

    const payload = new Uint8Array(4096).fill(0x27);
    const waitsMs: number[] = [];
    const endMs = Date.now() + 3_500;
    for (let timestampMs = 0; Date.now() < endMs;) {
      if (sentBytes - ackedBytes() < WINDOW_BYTES) {
        await sendCounted(client.message(MessageType.Video, 1, timestampMs++, payload, 6));
        continue;
      }
      const startMs = performance.now();
      await readUntil("an Acknowledgement", () => sentBytes - ackedBytes() < WINDOW_BYTES);
      waitsMs.push(performance.now() - startMs);
    }
    const slowest = Math.round(Math.max(...waitsMs));
    assert.ok(waitsMs.length > 20, `${waitsMs.length} windows sent`);
    assert.ok(slowest < 400, `the slowest Acknowledgement took ${slowest} ms (of ${waitsMs.length})`);
    assert.ok(events.filter((e) => e.event.type === "media").length > 0);
  } finally {
    close();
    await server.close();
  }
});

Deno.test("RTMP: the server ends a connection that does not finish the handshake, and one that goes quiet", async () => {
  const { server, port, events, closed } = await startServer(undefined, {
    handshakeTimeoutMs: 300,
    idleTimeoutMs: 600,
  });
  try {
    const silent = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      assert.equal(await silent.read(new Uint8Array(16)), null, "the server closes a silent connection");
    } finally {
      silent.close();
    }
    await waitFor("the first close event", () => closed() !== undefined);
    assert.equal(closed()!.reason, "no handshake within 300 ms");

    const { conn, client, readUntil, handshakeBytes } = await rawClient(port);
    try {
      await conn.write(client.c0c1());
      await readUntil("S0+S1+S2", () => handshakeBytes() >= 3073);
      await conn.write(client.c2());
      await waitFor("the second close event", () => events.filter((e) => e.event.type === "close").length === 2, 3_000);
    } finally {
      conn.close();
    }
    const second = events.filter((e) => e.event.type === "close")[1]!.event;
    assert.ok(second.type === "close" && second.reason === "idle for 600 ms", JSON.stringify(second));
  } finally {
    await server.close();
  }
});

Deno.test("RTMP: close() ends open connections with unpublish and close events", async () => {
  const { server, port, events } = await startServer();
  const { conn, client, received, readUntil, handshakeBytes } = await rawClient(port);
  try {
    await conn.write(client.c0c1());
    await readUntil("S0+S1+S2", () => handshakeBytes() >= 3073);
    await conn.write(client.c2());
    await conn.write(client.command("connect", 1, [new Map([["app", "live"]])]));
    await conn.write(client.command("createStream", 2, [null]));
    await conn.write(client.command("publish", 3, [null, "open", "live"], { streamId: 1 }));
    await readUntil("onStatus", () => received.some((m) => m.command?.name === "onStatus"));
    assert.equal(server.connectionCount, 1);
    await server.close();
    assert.deepEqual(events.map((e) => e.event.type), ["connect", "unpublish", "close"]);
    const close = events[2]!.event;
    assert.ok(close.type === "close" && close.reason === "server closing" && !close.protocolError);
  } finally {
    conn.close();
    await server.close();
  }
});

Deno.test("RTMP: a handler that throws ends its connection, and still gets unpublish and close", async () => {
  const events: RtmpServerEvent[] = [];
  const server = new RtmpServer({
    handshakeTimeoutMs: 5_000,
    idleTimeoutMs: 10_000,
    handler: {
      decidePublish: () => ({ accept: true }),
      onEvent(event) {
        events.push(event);
        if (event.type === "media") throw new Error("storage is full");
      },
    },
  });
  const { port } = await server.listen({ hostname: "127.0.0.1", port: 0 });
  const { conn, client, received, readUntil, handshakeBytes } = await rawClient(port);
  try {
    await conn.write(client.c0c1());
    await readUntil("S0+S1+S2", () => handshakeBytes() >= 3073);
    await conn.write(client.c2());
    await conn.write(client.command("connect", 1, [new Map([["app", "live"]])]));
    await conn.write(client.command("createStream", 2, [null]));
    await conn.write(client.command("publish", 3, [null, "cam", "live"], { streamId: 1 }));
    await readUntil("NetStream.Publish.Start", () => received.some((m) => statusCode(m) === "NetStream.Publish.Start"));
    await conn.write(concat([
      client.message(MessageType.Video, 1, 0, Uint8Array.of(0x17, 0)),
      client.message(MessageType.Video, 1, 40, Uint8Array.of(0x27, 1)),
    ]));
    await waitFor("the close event", () => events.some((e) => e.type === "close"));
    assert.deepEqual(events.map((e) => e.type), ["connect", "media", "unpublish", "close"]);
    const close = events.at(-1)!;
    assert.ok(
      close.type === "close" && close.reason === "handler failed on media: storage is full",
      JSON.stringify(close),
    );
    assert.equal(await conn.read(new Uint8Array(16)), null, "the server closed the socket");
  } finally {
    conn.close();
    await server.close();
  }
});
