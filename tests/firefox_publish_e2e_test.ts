/**
 * End to end from Firefox: headless Firefox ESR (Debian's firefox-esr, driven by puppeteer-core over WebDriver BiDi)
 * publishes its fake camera and microphone over WHIP with the offer it makes by itself (tests/fixtures/
 * whip_publisher.html?codec=default): VP8, VP9 and AV1 in its own order and, with bundle-policy max-bundle, the video
 * section as `a=bundle-only` with port 0. liverec answers its own first choice among them, VP9, and the recording is
 * judged by ffprobe/ffmpeg. Were the bundle-only section not answered, or answered in another codec, the video
 * would be missing or wrong. It checks what a Firefox publisher needs, not picture content or A/V sync.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { decodeErrors, periodFiles, probe, run } from "./helpers/media_tools.ts";
import {
  outboundVideo,
  type PublisherState,
  publisherState,
  servePublisherPage,
  unpublish,
} from "./helpers/publisher_page.ts";
import { recordingFinished, recordStatus, type Service, startService, waitFor } from "./helpers/service.ts";

/** Debian's Firefox ESR; puppeteer-core downloads no browser of its own. */
const FIREFOX = "/usr/bin/firefox-esr";
/** liverec's default video_codecs: the test checks which of Firefox's codecs it picks by itself. */
const TOML = `[recorder]\nauto_streams = ["firefox-*"]\nsegment_duration = 2\n`;
const STREAM = "firefox-1";
/**
 * A fake camera and microphone granted without asking, host candidates with their real addresses (not mDNS names),
 * UDP only, no OpenH264 plugin (which Firefox would download when online: its video stays VP8/VP9/AV1 wherever the
 * test runs), and no background network work. Firefox 153 gathers no loopback candidate even with ice.loopback set
 * (and ignores ice.force_interface), so ICE pairs this machine's own interface address on both ends: the packets
 * still never leave the machine.
 */
const FIREFOX_PREFS: Record<string, unknown> = {
  "media.navigator.streams.fake": true,
  "media.navigator.permission.disabled": true,
  "media.peerconnection.ice.loopback": true,
  "media.peerconnection.ice.obfuscate_host_addresses": false,
  "media.peerconnection.ice.tcp": false,
  "media.gmp-gmpopenh264.enabled": false,
  "network.captive-portal-service.enabled": false,
  "network.connectivity-service.enabled": false,
};

/** The nominated ICE pair as Firefox reports it (its stats have no "transport" entries to name it). */
function selectedPair(page: Page): Promise<unknown> {
  return page.evaluate(`(async () => {
    if (pc === null) return null;
    const report = await pc.getStats();
    const pairs = [...report.values()].filter((s) => s.type === "candidate-pair" && (s.selected || s.nominated));
    return pairs.map((pair) => {
      const local = report.get(pair.localCandidateId);
      const remote = report.get(pair.remoteCandidateId);
      return { state: pair.state, local: local && local.address + ":" + local.port,
        remote: remote && remote.address + ":" + remote.port };
    });
  })()`);
}

/** Everything worth reading when the publish goes wrong: the page's state with both SDPs, its console, the service log. */
async function evidence(page: Page, consoleLines: string[], service: Service): Promise<string> {
  const state = await publisherState(page).catch((error) => ({ unavailable: String(error) }));
  const { offerSdp, answerSdp, ...rest } = state as Partial<PublisherState>;
  return [
    `publisher: ${JSON.stringify(rest)}`,
    `outbound video: ${JSON.stringify(await outboundVideo(page).catch((error) => String(error)))}`,
    `selected ICE pair: ${JSON.stringify(await selectedPair(page).catch((error) => String(error)))}`,
    `record status: ${await service.fetch(`/api/record/${STREAM}`).then((r) => r.text()).catch(String)}`,
    `--- offer SDP ---\n${offerSdp ?? "(none)"}`,
    `--- answer SDP ---\n${answerSdp ?? "(none)"}`,
    `--- page console ---\n${consoleLines.slice(-30).join("\n")}`,
    `--- service log (tail) ---\n${service.logs().split("\n").slice(-80).join("\n")}`,
  ].join("\n");
}

/** Seconds from the first packet's start to the last packet's end in a file (what its frames cover, by ffprobe). */
async function mediaSpanS(file: string): Promise<number> {
  const { code, stdout, stderr } = await run("ffprobe", [
    "-v",
    "error",
    "-show_entries",
    "packet=pts_time,duration_time",
    "-of",
    "csv=p=0",
    file,
  ]);
  assert.equal(code, 0, `ffprobe ${file}: ${stderr}`);
  const packets = stdout.trim().split("\n").map((line) => line.split(",").map(Number));
  const starts = packets.map(([pts]) => pts!);
  const ends = packets.map(([pts, duration]) => pts! + (Number.isFinite(duration) ? duration! : 0));
  return Math.max(...ends) - Math.min(...starts);
}

/** The media codecs (not rtx, red or ulpfec) of the first `kind` section of an SDP, in the section's order. */
function mediaCodecs(sdp: string, kind: "audio" | "video"): string[] {
  const section = sdp.split(/\r?\n(?=m=)/).find((s) => s.startsWith(`m=${kind} `)) ?? "";
  const order = section.split(/\r?\n/, 1)[0]!.split(" ").slice(3);
  const names = new Map([...section.matchAll(/^a=rtpmap:(\d+) ([^/\r\n]+)/gm)].map((m) => [m[1]!, m[2]!]));
  return order.map((pt) => names.get(pt) ?? pt).filter((name) => !/^(rtx|red|ulpfec)$/i.test(name));
}

Deno.test("headless Firefox ESR publishes with its default offer (VP8/VP9/AV1, video bundle-only): VP9 + Opus recorded, decodes cleanly, >= 3 s", async () => {
  const service = await startService({ toml: TOML });
  const server = servePublisherPage();
  const profileDir = await Deno.makeTempDir({ prefix: "liverec-firefox-" });
  let browser: Browser | undefined;
  try {
    const startedMs = Date.now();
    browser = await puppeteer.launch({
      browser: "firefox",
      protocol: "webDriverBiDi",
      executablePath: FIREFOX,
      headless: true,
      userDataDir: profileDir,
      extraPrefsFirefox: FIREFOX_PREFS,
      // The test process owns the browser: no signal handlers of puppeteer's in it.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    const page = (await browser.pages())[0] ?? await browser.newPage();
    const consoleLines: string[] = [];
    page.on("console", (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
    page.on("pageerror", (error) => consoleLines.push(`pageerror: ${error instanceof Error ? error.message : error}`));
    /** Runs one step; if it throws, the error carries the SDPs, the page console and the service log. */
    const step = async <T>(what: Promise<T>): Promise<T> => {
      try {
        return await what;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`${message}\n${await evidence(page, consoleLines, service)}`, { cause: error });
      }
    };

    const whipUrl = `${service.url}/whip/${STREAM}`;
    await page.goto(`${server.url}/?whip=${encodeURIComponent(whipUrl)}&codec=default`);
    const launchedMs = Date.now();

    const connected = await step(waitFor("Firefox's peer connection to be connected", async () => {
      const state = await publisherState(page);
      if (state.errors.length > 0) throw new Error(`publisher errors: ${state.errors.join("; ")}`);
      if (state.connectionState === "failed") throw new Error("Firefox's peer connection failed");
      return state.connectionState === "connected" ? state : undefined;
    }, 15_000));
    const connectedMs = Date.now();
    const offer = connected.offerSdp ?? "";
    const answer = connected.answerSdp ?? "";
    // What makes this Firefox's path: its own codec order, without H.264 here, and the video offered bundle-only.
    const offered = mediaCodecs(offer, "video");
    assert.deepEqual(offered.slice(0, 2), ["VP8", "VP9"], `Firefox offers VP8 first, then VP9:\n${offer}`);
    assert.ok(!offered.includes("H264"), `no H.264 offered (no OpenH264):\n${offer}`);
    assert.match(offer, /^m=video 0 [^\r\n]*\r?\n(?:[^m][^\r\n]*\r?\n)*a=bundle-only/m, "video is bundle-only");
    assert.deepEqual(mediaCodecs(answer, "video"), ["VP9"], `liverec answers VP9, its first choice:\n${answer}`);

    const recording = await step(waitFor("the recording to have 3 segments", async () => {
      const state = await publisherState(page);
      if (state.connectionState !== "connected") {
        throw new Error(`Firefox's peer connection went ${state.connectionState}`);
      }
      const status = await recordStatus(service, STREAM);
      return status.recording && (status.segments ?? 0) >= 3 ? status : undefined;
    }, 20_000));
    const threeSegmentsMs = Date.now();
    const sent = await outboundVideo(page);
    const pair = await selectedPair(page);

    const deleteStatus = await unpublish(page);
    await step(recordingFinished(service, STREAM, 15_000));
    const stoppedMs = Date.now();
    const state = await publisherState(page);
    const details = await evidence(page, consoleLines, service);
    assert.equal(deleteStatus, 200, `WHIP DELETE of ${state.location} answered 200\n${details}`);
    assert.deepEqual(state.errors, [], `no errors in the publisher page\n${details}`);
    console.log(
      `timings: page loaded ${launchedMs - startedMs} ms after launch, connected ${connectedMs - launchedMs} ms ` +
        `later, 3 segments after another ${threeSegmentsMs - connectedMs} ms, stopped ${stoppedMs - threeSegmentsMs} ` +
        `ms after DELETE; Firefox sent ${JSON.stringify(sent)} over ${JSON.stringify(pair)}`,
    );
    assert.equal(sent?.mimeType?.toLowerCase(), "video/vp9", `Firefox sends VP9\n${details}`);

    assert.ok(recording.mpd_path !== undefined, `the status names the MPD: ${JSON.stringify(recording)}`);
    const mpd = join(service.root, recording.mpd_path);
    const mpdText = await Deno.readTextFile(mpd);
    // Firefox starts small and raises its frame size as the bandwidth estimate grows; each new size starts a Period,
    // so every Period is judged, each as its own files (ffmpeg's DASH demuxer reads only one).
    const videoCodecs = [...mpdText.matchAll(/contentType="video"[^]*?codecs="([^"]+)"/g)].map((m) => m[1]);
    const audioCodecs = [...mpdText.matchAll(/contentType="audio"[^]*?codecs="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(videoCodecs.length >= 1, `the MPD has video\n${mpdText}\n${details}`);
    for (const codecs of videoCodecs) assert.match(codecs!, /^vp09\.00\.\d\d\.08$/, `VP9 profile 0\n${mpdText}`);
    assert.equal(audioCodecs.length, videoCodecs.length, `every Period has audio\n${mpdText}`);
    for (const codecs of audioCodecs) assert.equal(codecs, "opus", `Opus audio\n${mpdText}`);

    let videoS = 0;
    const sizes: string[] = [];
    for (const [i, period] of (await periodFiles(mpd)).entries()) {
      assert.ok(period.video !== undefined && period.audio !== undefined, `Period ${i + 1} has both tracks`);
      for (const file of [period.video, period.audio]) {
        assert.equal(await decodeErrors(file), "", `ffmpeg decodes Period ${i + 1} (${file}) without errors`);
      }
      const video = await probe(period.video);
      const audio = await probe(period.audio);
      assert.equal(video.streams[0]?.codec_name, "vp9", `Period ${i + 1} video: ${JSON.stringify(video.streams)}`);
      assert.equal(audio.streams[0]?.codec_name, "opus", `Period ${i + 1} audio: ${JSON.stringify(audio.streams)}`);
      assert.ok(Number(video.streams[0].nb_read_frames) > 0, `Period ${i + 1} has video frames`);
      assert.ok(Number(audio.streams[0].nb_read_frames) > 0, `Period ${i + 1} has audio frames`);
      sizes.push(`${video.streams[0].width}x${video.streams[0].height}`);
      videoS += await mediaSpanS(period.video);
    }
    console.log(`recorded ${videoS.toFixed(2)} s of video in ${sizes.length} Period(s): ${sizes.join(", ")}`);
    assert.ok(videoS >= 3, `recorded ${videoS} s, at least the 3 segments waited for`);
  } finally {
    await browser?.close();
    await server.close();
    await service.stop();
    await Deno.remove(profileDir, { recursive: true }).catch(() => {});
  }
});
