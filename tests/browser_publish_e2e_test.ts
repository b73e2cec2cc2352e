/**
 * End to end from a real browser: headless Chromium publishes its fake camera and microphone over WHIP (in each
 * video codec it can send, with Opus) into the running service, and the recording it leaves is judged by
 * ffprobe/ffmpeg. It checks what a browser publisher needs (its SDP accepted, a keyframe on request, a clean stop by
 * DELETE), not picture content: the fake camera has no sync marks, so A/V sync is left to record_e2e_test.ts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { decodeErrors, periodFiles, probe, run } from "./helpers/media_tools.ts";
import { CHROMIUM, CHROMIUM_ARGS, isPlaying, withPlayer } from "./helpers/player.ts";
import {
  outboundVideo,
  type PublisherState,
  publisherState,
  servePublisherPage,
  unpublish,
} from "./helpers/publisher_page.ts";
import { objectUrl, recordingFinished, recordStatus, type Service, startService, waitFor } from "./helpers/service.ts";

const TOML = `[recorder]\nauto_streams = ["browser-*"]\nsegment_duration = 2\n`;
/** The players' flags, plus loopback ICE candidates and a fake camera and microphone granted without asking. */
const PUBLISHER_ARGS = [
  ...CHROMIUM_ARGS,
  "--allow-loopback-in-peer-connection",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
];

/** Everything worth reading when the publish goes wrong: the page's state with both SDPs, its console, the service log. */
async function evidence(page: Page, consoleLines: string[], service: Service): Promise<string> {
  const state = await publisherState(page).catch((error) => ({ unavailable: String(error) }));
  const { offerSdp, answerSdp, ...rest } = state as Partial<PublisherState>;
  return [
    `publisher: ${JSON.stringify(rest)}`,
    `outbound video: ${JSON.stringify(await outboundVideo(page).catch((error) => String(error)))}`,
    `transport: ${
      JSON.stringify(
        await page.evaluate(() => (globalThis as unknown as { transportStats(): Promise<unknown> }).transportStats())
          .catch((error) => String(error)),
      )
    }`,
    `record status: ${await service.fetch("/api/record/browser-1").then((r) => r.text()).catch((error) =>
      String(error)
    )}`,
    `--- offer SDP ---\n${offerSdp ?? "(none)"}`,
    `--- answer SDP ---\n${answerSdp ?? "(none)"}`,
    `--- page console ---\n${consoleLines.slice(-30).join("\n")}`,
    `--- service log (tail) ---\n${service.logs().split("\n").slice(-80).join("\n")}`,
  ].join("\n");
}

/**
 * One row per video codec Chromium sends: its name in ?codec=, the MPD's codecs string, ffprobe's codec name, and
 * whether browsers play it from fMP4 (MSE takes VP8 only in WebM, so a VP8 recording plays in ffmpeg and VLC only).
 */
const CODECS = [
  // Debian's Chromium encodes H.264 in constrained baseline only.
  { codec: "h264", mpdCodecs: /codecs="avc1\.42[0-9a-f]{4}"/i, ffprobeName: "h264", plays: true },
  { codec: "vp8", mpdCodecs: /codecs="vp08\.00\.\d\d\.08"/, ffprobeName: "vp8", plays: false },
  { codec: "vp9", mpdCodecs: /codecs="vp09\.00\.\d\d\.08"/, ffprobeName: "vp9", plays: true },
  { codec: "av1", mpdCodecs: /codecs="av01\.0\.\d\d[MH]\.08"/, ffprobeName: "av1", plays: true },
];

for (const { codec, mpdCodecs, ffprobeName, plays } of CODECS) {
  Deno.test(`headless Chromium publishes ${codec} + Opus over WHIP: the recording decodes cleanly, both tracks, >= 3 s`, () =>
    publishFromChromium(codec, mpdCodecs, ffprobeName, plays));
}

/** What a test does with a connected Chromium publisher. */
interface PublishContext {
  service: Service;
  page: Page;
  /** Runs one step; if it throws, the error carries the SDPs, the page console and the service log. */
  step<T>(what: Promise<T>): Promise<T>;
  /** The page's console and the service log, for assertion messages. */
  evidence(): Promise<string>;
  startedMs: number;
  connectedMs: number;
}

/**
 * Starts the service with `toml`, opens the publisher page in Chromium with `query` (after ?whip=) and waits for the
 * peer connection; `run` takes it from there. Everything is stopped afterwards.
 */
async function withChromiumPublisher(
  toml: string,
  query: string,
  run: (context: PublishContext) => Promise<void>,
  extraArgs: readonly string[] = [],
): Promise<void> {
  const service = await startService({ toml });
  const server = servePublisherPage();
  const profileDir = await Deno.makeTempDir({ prefix: "liverec-chromium-" });
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      args: [...PUBLISHER_ARGS, ...extraArgs],
    });
    const page = context.pages()[0] ?? await context.newPage();
    const consoleLines: string[] = [];
    page.on("console", (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
    page.on("pageerror", (error) => consoleLines.push(`pageerror: ${error.message}`));
    const step = async <T>(what: Promise<T>): Promise<T> => {
      try {
        return await what;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`${message}\n${await evidence(page, consoleLines, service)}`, { cause: error });
      }
    };
    const whipUrl = `${service.url}/whip/browser-1`;
    const startedMs = Date.now();
    await page.goto(`${server.url}/?whip=${encodeURIComponent(whipUrl)}&${query}`);
    await step(waitFor("the browser's peer connection to be connected", async () => {
      const state = await publisherState(page);
      if (state.errors.length > 0) throw new Error(`publisher errors: ${state.errors.join("; ")}`);
      if (state.connectionState === "failed") throw new Error("the browser's peer connection failed");
      return state.connectionState === "connected" ? state : undefined;
    }, 15_000));
    await run({
      service,
      page,
      step,
      evidence: () => evidence(page, consoleLines, service),
      startedMs,
      connectedMs: Date.now(),
    });
  } finally {
    await context?.close();
    await server.close();
    await service.stop();
    await Deno.remove(profileDir, { recursive: true }).catch(() => {});
  }
}

function publishFromChromium(codec: string, mpdCodecs: RegExp, ffprobeName: string, plays: boolean): Promise<void> {
  // The browser offers every codec it has; liverec answers the first of video_codecs, so this one alone.
  const toml = `[webrtc]\nvideo_codecs = ["${codec}"]\n\n${TOML}`;
  return withChromiumPublisher(
    toml,
    `codec=${codec}`,
    async ({ service, page, step, evidence, startedMs, connectedMs }) => {
      const recording = await step(waitFor("the recording to have 3 segments", async () => {
        const state = await publisherState(page);
        if (state.connectionState !== "connected") {
          throw new Error(`the browser's peer connection went ${state.connectionState}`);
        }
        const status = await recordStatus(service, "browser-1");
        return status.recording && (status.segments ?? 0) >= 3 ? status : undefined;
      }, 30_000));
      const threeSegmentsMs = Date.now();
      const sent = await outboundVideo(page);

      const deleteStatus = await unpublish(page);
      await step(recordingFinished(service, "browser-1", 15_000));
      const stoppedMs = Date.now();
      const state = await publisherState(page);
      const details = await evidence();
      assert.equal(deleteStatus, 200, `WHIP DELETE of ${state.location} answered 200\n${details}`);
      assert.deepEqual(state.errors, [], `no errors in the publisher page\n${details}`);
      // Retransmissions come as RTX (werift unwraps them); RED and ULPFEC are not negotiated.
      const answer = state.answerSdp ?? "";
      const videoPayloadType = /^m=video \d+ \S+ (\d+)/m.exec(answer)?.[1];
      assert.match(answer, new RegExp(`^a=fmtp:\\d+ apt=${videoPayloadType}\r?$`, "m"), `RTX in the answer\n${answer}`);
      assert.doesNotMatch(answer, /red\/|ulpfec/i, `no RED or ULPFEC in the answer\n${answer}`);
      console.log(
        `timings: connected ${connectedMs - startedMs} ms after page load, 3 segments after another ` +
          `${threeSegmentsMs - connectedMs} ms, stopped ${stoppedMs - threeSegmentsMs} ms after DELETE; ` +
          `browser sent ${JSON.stringify(sent)}`,
      );
      // A browser sends keyframes only when asked, so every segment cut after the first one began with a requested one.
      assert.ok((sent?.pliCount ?? 0) >= 1, `the recorder asked the browser for keyframes (PLI)\n${details}`);

      assert.ok(recording.mpd_path !== undefined, `the status names the MPD: ${JSON.stringify(recording)}`);
      const mpd = join(service.root, recording.mpd_path);
      const mpdText = await Deno.readTextFile(mpd);
      assert.match(mpdText, mpdCodecs, `MPD video codecs is ${codec}\n${mpdText}\n${details}`);
      assert.match(mpdText, /codecs="opus"/, `MPD lists Opus audio\n${mpdText}`);
      assert.equal(await decodeErrors(mpd), "", `ffmpeg decodes the recording without errors\n${details}`);

      const { streams, durationS } = await probe(mpd);
      const video = streams.find((s) => s.codec_type === "video");
      const audio = streams.find((s) => s.codec_type === "audio");
      assert.equal(video?.codec_name, ffprobeName, `a ${codec} video stream: ${JSON.stringify(streams)}`);
      assert.equal(audio?.codec_name, "opus", `an Opus audio stream: ${JSON.stringify(streams)}`);
      const expectedSize = sent?.frameWidth != null && sent.frameHeight != null
        ? `${sent.frameWidth}x${sent.frameHeight}`
        : "640x360";
      assert.equal(`${video.width}x${video.height}`, expectedSize, "the frame size the browser encoded");
      assert.ok(Number(audio.nb_read_frames) > 0, JSON.stringify(streams));
      const framesSent = state.videoFramesSent ?? 0;
      const recordedFrames = Number(video.nb_read_frames);
      assert.ok(
        recordedFrames >= 0.97 * framesSent && recordedFrames <= framesSent,
        `recorded ${recordedFrames} of the ${framesSent} video frames sent\n${details}`,
      );
      assert.ok(durationS >= 3, `recorded ${durationS} s, at least the 3 segments waited for`);

      // Browsers play it: stock dash.js from the MPD, stock hls.js from the multivariant playlist.
      const sampleEntry = /codecs="([a-z0-9]{4})\./.exec(mpdText)?.[1] ?? "(none)";
      const players = plays ? [["dash.js", recording.mpd_path], ["hls.js", recording.hls_path]] as const : [];
      for (const [kind, path] of players) {
        assert.ok(path != null, `the status names the ${kind} manifest: ${JSON.stringify(recording)}`);
        await withPlayer(objectUrl(service, path), async (player) => {
          const playing = await player.waitUntil(
            `${kind} playing past 2 s`,
            (s) => isPlaying(s) && s.currentTime > 2 ? s : undefined,
            20_000,
          );
          // A live source's audio may start a frame after its video: hls.js steps over that hole and says so. On a
          // loaded machine Chromium's software decoder can also take over 2 s to show the first frame; hls.js then
          // nudges the playhead from 0 (seen once in CI, with VP9). A stall anywhere later still counts.
          const errors = playing.errors.filter((error) =>
            !/non-fatal .*bufferSeekOverHole/.test(error) &&
            !/non-fatal .*bufferNudgeOnStall \(Nudging 'currentTime' from 0 to/.test(error)
          );
          assert.deepEqual(errors, [], `no ${kind} or <video> errors`);
          assert.match(playing.videoTrack?.codec ?? "(no video track)", new RegExp(`(^|")${sampleEntry}\\.`, "i"));
          assert.equal(`${playing.videoWidth}x${playing.videoHeight}`, expectedSize, `${kind} shows the picture`);
        }, kind);
      }
    },
  );
}

/** What window.outboundLayers() returns: one entry per outbound video stream (simulcast layer). */
interface OutboundLayer {
  rid: string | null;
  frameWidth: number | null;
  frameHeight: number | null;
  framesEncoded: number;
}

/** The distinct frame sizes ffprobe decodes from `file`'s video. */
async function frameSizes(file: string): Promise<string[]> {
  const { stdout } = await run("ffprobe", [
    ...["-v", "error", "-select_streams", "v", "-show_entries", "frame=width,height", "-of", "csv=p=0", file],
  ]);
  return [...new Set(stdout.trim().split("\n").map((line) => line.replace(",", "x")))];
}

Deno.test("headless Chromium's simulcast (3 VP8 layers): the largest layer sent is recorded, alone", () =>
  withChromiumPublisher(
    `[webrtc]\nvideo_codecs = ["vp8"]\n\n${TOML}`,
    "codec=vp8&simulcast=1",
    async ({ service, page, step, evidence }) => {
      // Chromium holds its top layers back while its bandwidth estimate is low, and starts them later: the recording
      // follows the largest so far, each size in a period of its own.
      const outboundLayers = () =>
        page.evaluate(() => (globalThis as unknown as { outboundLayers(): Promise<OutboundLayer[]> }).outboundLayers());
      const layers = await step(waitFor("two layers sending for 2 s", async () => {
        const layers = await outboundLayers();
        return layers.filter((layer) => layer.framesEncoded >= 60).length >= 2 ? layers : undefined;
      }, 30_000));
      const state = await publisherState(page);
      assert.equal(await unpublish(page), 200);
      await step(recordingFinished(service, "browser-1", 15_000));
      const details = `layers sent: ${JSON.stringify(layers)}\n${await evidence()}`;
      assert.match(state.answerSdp ?? "", /^a=simulcast:recv /m, `the answer accepts the simulcast\n${details}`);
      const sizes = layers.filter((layer) => layer.framesEncoded > 0)
        .sort((a, b) => (a.frameWidth ?? 0) - (b.frameWidth ?? 0))
        .map((layer) => `${layer.frameWidth}x${layer.frameHeight}`);

      const listing = await (await service.fetch("/api/recordings?stream=browser-1&from=2000-01-01T00:00:00Z")).json();
      const mpd = join(service.root, listing.recordings[0].mpd_path);
      const recorded = [];
      for (const period of await periodFiles(mpd)) {
        assert.equal(await decodeErrors(period.video!), "", `each period decodes\n${details}`);
        recorded.push(await frameSizes(period.video!));
      }
      assert.ok(recorded.every((periodSizes) => periodSizes.length === 1), `one size a period: ${recorded}`);
      assert.equal(recorded.at(-1)![0], sizes.at(-1), `the largest layer is recorded last\n${details}`);
      assert.ok(recorded.flat().every((size) => sizes.includes(size)), `only layers sent: ${recorded}\n${details}`);
    },
  ));

Deno.test("a resolution change within one H.264 publish gives two periods, each decoding at its own size", () =>
  withChromiumPublisher(
    `[webrtc]\nvideo_codecs = ["h264"]\n\n${TOML}`,
    "codec=h264",
    async ({ service, page, step }) => {
      await step(waitFor("2 segments", async () => {
        const status = await recordStatus(service, "browser-1");
        return (status.segments ?? 0) >= 2 ? status : undefined;
      }, 30_000));
      await page.evaluate(() =>
        (globalThis as unknown as { resize(w: number, h: number): Promise<void> }).resize(320, 180)
      );
      const status = await step(waitFor("a second period", async () => {
        const status = await recordStatus(service, "browser-1");
        return (status.periods ?? 0) >= 2 && (status.segments ?? 0) >= 4 ? status : undefined;
      }, 30_000));
      assert.equal(await unpublish(page), 200);
      await step(recordingFinished(service, "browser-1", 15_000));

      const row = await (await service.fetch(`/api/recordings/${status.record_id}`)).json();
      assert.equal(row.periods, 2, JSON.stringify(row));
      const mpd = join(service.root, row.mpd_path);
      const mpdText = await Deno.readTextFile(mpd);
      assert.match(mpdText, new RegExp(`<Period id="${status.record_id}-2"`), mpdText);
      const sizes = [];
      for (const period of await periodFiles(mpd)) {
        assert.equal(await decodeErrors(period.video!), "", "each period decodes on its own");
        sizes.push(await frameSizes(period.video!));
      }
      assert.deepEqual(sizes, [["640x360"], ["320x180"]], "each period holds one size, its own");
      const hls = await Deno.readTextFile(join(service.root, row.record_dir, "video.m3u8"));
      assert.equal(hls.match(/#EXT-X-MAP:/g)?.length, 2, `a new HLS map for the new size\n${hls}`);
      // One MP4 of both periods: a sample entry for each size.
      const mp4 = await service.fetch(`/api/recordings/${status.record_id}/mp4`);
      assert.equal(mp4.status, 200, await mp4.clone().text());
      const file = join(await Deno.makeTempDir({ prefix: "liverec-resize-" }), "recording.mp4");
      await Deno.writeFile(file, new Uint8Array(await mp4.arrayBuffer()));
      assert.equal(await decodeErrors(file), "", "the MP4 of both periods decodes");
      assert.deepEqual(await frameSizes(file), ["640x360", "320x180"], "the MP4 changes size where the recording did");
    },
  ));

Deno.test("headless Chromium trickles its candidates in PATCHes (RFC 9725 §4.3.1): each is a 204, the publish records", () =>
  withChromiumPublisher(
    `[webrtc]\nvideo_codecs = ["h264"]\n\n${TOML}`,
    "codec=h264&trickle=1",
    async ({ service, page, step }) => {
      const { offerSdp, patchStatuses } = await step(waitFor("the PATCHes", async () => {
        const state = await publisherState(page);
        return state.patchStatuses !== null ? { ...state, patchStatuses: state.patchStatuses } : undefined;
      }));
      assert.doesNotMatch(offerSdp ?? "", /^a=candidate:/m, "the offer went out without candidates");
      assert.ok(patchStatuses.length > 0, "candidates were trickled");
      assert.deepEqual(new Set(patchStatuses), new Set([204]), `PATCH statuses ${patchStatuses}`);
      await step(waitFor("2 segments", async () => {
        const status = await recordStatus(service, "browser-1");
        return (status.segments ?? 0) >= 2 ? status : undefined;
      }, 30_000));
      assert.equal(await unpublish(page), 200);
    },
  ));

Deno.test("Chromium sends what start_bitrate_kbps asks (liverec gives it no congestion feedback), not its own 300 kbit/s", async () => {
  // A camera that films the test clip: real content, whose bitrate follows what the encoder is allowed.
  const dir = await Deno.makeTempDir({ prefix: "liverec-camera-" });
  const camera = join(dir, "clip.y4m");
  const clip = new URL("./fixtures/clip.mp4", import.meta.url).pathname;
  const { code, stderr } = await run("ffmpeg", [
    "-v",
    "error",
    "-i",
    clip,
    "-vf",
    "scale=640:360",
    "-pix_fmt",
    "yuv420p",
    camera,
  ]);
  assert.equal(code, 0, stderr);
  try {
    await withChromiumPublisher(
      `[webrtc]\nvideo_codecs = ["h264"]\nstart_bitrate_kbps = 2000\n\n${TOML}`,
      "codec=h264",
      async ({ service, page, step }) => {
        const status = await step(waitFor("6 segments", async () => {
          const status = await recordStatus(service, "browser-1");
          return (status.segments ?? 0) >= 6 ? status : undefined;
        }, 30_000));
        assert.match((await publisherState(page)).answerSdp ?? "", /x-google-start-bitrate=2000/);
        const mpd = await (await service.fetch(`/api/record/object/${status.mpd_path}`)).text();
        const videoBps = Number(/contentType="video"[\s\S]*?bandwidth="(\d+)"/.exec(mpd)?.[1]);
        assert.ok(videoBps > 1_000_000, `video at ${videoBps} bit/s\n${mpd}`);
        assert.equal(await unpublish(page), 200);
      },
      [`--use-file-for-fake-video-capture=${camera}`],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
