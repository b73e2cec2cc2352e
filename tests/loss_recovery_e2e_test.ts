/**
 * Loss recovery end to end: headless Chromium publishes H.264 + Opus over WHIP through a lossy UDP relay (3% of its
 * media packets dropped, 1% reordered, at seeded random) and the recording must still hold at least 99% of the video
 * frames the browser sent. What recovers them is werift's NACKs and Chromium's RTX retransmissions (RFC 4588), which
 * liverec answers and unwraps. A WHIP proxy in the test points the answer's loopback candidate at the relay; STUN,
 * DTLS and RTCP pass untouched. Audio is not retransmitted (Opus has no NACK), so its losses are only counted.
 * The stream's very first packet is not NACKable (nothing before it was seen), so the main test leaves it alone; a
 * second test swaps the first two video packets, which the reorder buffer must put back in order.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import {
  type Action,
  type DirectionCounts,
  type Impairment,
  type LossyRelay,
  startLossyRelay,
  total,
} from "./helpers/lossy_relay.ts";
import { decodeErrors, probe, run } from "./helpers/media_tools.ts";
import { CHROMIUM, CHROMIUM_ARGS } from "./helpers/player.ts";
import { type PublisherState, publisherState, servePublisherPage, unpublish } from "./helpers/publisher_page.ts";
import { recordingFinished, recordStatus, type Service, startService, waitFor } from "./helpers/service.ts";

const STREAM = "browser-1";
const TOML = `[webrtc]\nvideo_codecs = ["h264"]\n\n[recorder]\nauto_streams = ["browser-*"]\nsegment_duration = 2\n`;
const LOSS_RATE = 0.03;
const REORDER_RATE = 0.01;
/** The relay's seed; LIVEREC_LOSS_SEED picks another to explore (each run's log names the one it used). */
const SEED = Number(Deno.env.get("LIVEREC_LOSS_SEED") ?? 4588);
/** Share of the video frames sent that must be in the recording. */
const MIN_RECORDED_SHARE = 0.99;
/** The browser test's flags: loopback ICE candidates and a fake camera and microphone granted without asking. */
const PUBLISHER_ARGS = [
  ...CHROMIUM_ARGS,
  "--allow-loopback-in-peer-connection",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
];

/** Chromium's account of its outbound video (RTCOutboundRtpStreamStats) and of the service's receiver reports. */
interface VideoSendStats {
  packetsSent: number;
  retransmittedPacketsSent: number;
  retransmittedBytesSent: number;
  /** NACK packets received from the service. */
  nackCount: number;
  pliCount: number;
  framesSent: number;
  /** From the service's receiver reports (RTCRemoteInboundRtpStreamStats): packets it counted lost. */
  remotePacketsLost: number;
}

/**
 * Runs in the page before its own script: keeps each RTCPeerConnection the page makes on window.peerConnections,
 * so that the test can read getStats() without a change to the fixture page.
 */
function keepPeerConnections(): void {
  type Constructor = new (...args: unknown[]) => object;
  const page = globalThis as unknown as { RTCPeerConnection: Constructor; peerConnections: object[] };
  const Native = page.RTCPeerConnection;
  const made: object[] = [];
  page.peerConnections = made;
  page.RTCPeerConnection = class extends Native {
    constructor(...args: unknown[]) {
      super(...args);
      made.push(this);
    }
  };
}

/** The page's outbound video statistics, while its peer connection is open; null before it sends. */
async function videoSendStats(page: Page): Promise<VideoSendStats | null> {
  return await page.evaluate(async () => {
    type Stats = { type: string; kind?: string } & Record<string, unknown>;
    type Connection = { getStats(): Promise<Map<string, Stats>> };
    const [pc] = (globalThis as unknown as { peerConnections: Connection[] }).peerConnections;
    if (pc === undefined) return null;
    const all = [...(await pc.getStats()).values()];
    const sent = all.find((stats) => stats.type === "outbound-rtp" && stats.kind === "video");
    const remote = all.find((stats) => stats.type === "remote-inbound-rtp" && stats.kind === "video");
    if (sent === undefined) return null;
    const count = (value: unknown) => typeof value === "number" ? value : 0;
    return {
      packetsSent: count(sent.packetsSent),
      retransmittedPacketsSent: count(sent.retransmittedPacketsSent),
      retransmittedBytesSent: count(sent.retransmittedBytesSent),
      nackCount: count(sent.nackCount),
      pliCount: count(sent.pliCount),
      framesSent: count(sent.framesSent),
      remotePacketsLost: count(remote?.packetsLost),
    };
  });
}

/** The selected candidate pair's remote address as the page sees it ("127.0.0.1:port"), or null. */
async function selectedRemote(page: Page): Promise<string | null> {
  const transports = await page.evaluate(() =>
    (globalThis as unknown as { transportStats(): Promise<{ selectedPair: { remote: string | null } | null }[]> })
      .transportStats()
  );
  return transports[0]?.selectedPair?.remote ?? null;
}

/**
 * The answer with each loopback host candidate's port replaced by the port `relayPort` gives for it, and every
 * other candidate left out: the publisher can then reach the service through the relays only. The m- and c-lines
 * carry no address of their own (port 9, 0.0.0.0), so the candidates are all there is to change.
 */
async function throughRelays(sdp: string, relayPort: (port: number) => Promise<number>): Promise<string> {
  const candidate = /^a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ host\b/i;
  const out: string[] = [];
  for (const line of sdp.split(/(?<=\n)/)) {
    const match = candidate.exec(line);
    if (match === null) {
      out.push(line);
    } else if (match[1] === "127.0.0.1") {
      const port = ` ${await relayPort(Number(match[2]))} typ host`;
      out.push(line.replace(candidate, (found) => found.replace(` ${match[2]} typ host`, port)));
    }
  }
  return out.join("");
}

/**
 * A WHIP proxy on loopback in front of the service: forwards every request (POST, PATCH, DELETE, CORS preflights)
 * and answers what the service answered, the answer SDP of a POST passed through `throughRelays`.
 */
function serveWhipProxy(service: Service, relayPort: (port: number, answer: string) => Promise<number>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.delete("host");
    const hasBody = request.method !== "GET" && request.method !== "HEAD" && request.method !== "OPTIONS";
    const response = await service.fetch(`${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      ...(hasBody ? { body: await request.arrayBuffer() } : {}),
    });
    const responseHeaders = new Headers(response.headers);
    responseHeaders.delete("content-length");
    let body: BodyInit | null = null;
    if (request.method === "POST" && response.status === 201) {
      const answer = await response.text();
      body = await throughRelays(answer, (port) => relayPort(port, answer));
    } else if (![101, 204, 205, 304].includes(response.status)) {
      body = await response.arrayBuffer();
    }
    return new Response(body, { status: response.status, headers: responseHeaders });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

/**
 * A fake camera that films the test clip, as a Y4M file in `dir`: real content, so that the video runs at the
 * bitrate the answer allows (Chromium's own test pattern needs about one packet a frame, too few to lose).
 */
async function filmingTheClip(dir: string): Promise<string> {
  const camera = join(dir, "clip.y4m");
  const clip = new URL("./fixtures/clip.mp4", import.meta.url).pathname;
  const args = ["-nostdin", "-v", "error", "-i", clip, "-vf", "scale=640:360", "-pix_fmt", "yuv420p", camera];
  const { code, stderr } = await run("ffmpeg", args);
  assert.equal(code, 0, stderr);
  return camera;
}

/** The payload types the answer gave the video, its RTX (RFC 4588 `apt=`) and the audio, as relay kinds. */
function payloadKinds(answer: string): { video: string; rtx: string; audio: string } {
  const video = /^m=video \d+ \S+ (\d+)/m.exec(answer)?.[1];
  const rtx = new RegExp(`^a=fmtp:(\\d+) apt=${video}\\r?$`, "m").exec(answer)?.[1];
  const audio = /^m=audio \d+ \S+ (\d+)/m.exec(answer)?.[1];
  assert.ok(video !== undefined && rtx !== undefined && audio !== undefined, `H.264, its RTX and Opus\n${answer}`);
  return { video: `pt ${video}`, rtx: `pt ${rtx}`, audio: `pt ${audio}` };
}

/** The counts of one direction in a line, each payload type named as the answer names it. */
function describe(counts: DirectionCounts, kinds: { video: string; rtx: string; audio: string }): string {
  const names = new Map(Object.entries(kinds).map(([name, kind]) => [kind, name]));
  return Object.entries(counts)
    .map(([kind, c]) =>
      `${names.get(kind) ?? kind}: ${c.forwarded} forwarded, ${c.dropped} dropped, ${c.reordered} held`
    )
    .join("; ");
}

/** How a lossy publish goes: the impairment towards the service, and what the relay decides outright. */
interface LossyPublish {
  toService: Impairment;
  /** Given the answer's payload kinds, decides datagrams before chance does (see LossyRelayOptions.script). */
  script?: (kinds: { video: string }) => (kind: string, index: number) => Action | undefined;
  /** Decides the service's datagrams to the browser (see LossyRelayOptions.scriptToPublisher). */
  scriptToPublisher?: (kind: string, index: number) => Action | undefined;
  /** Seconds of recording (in stored segments) before unpublishing. */
  seconds: number;
  /** Whether the relay must have dropped and held video, and the browser retransmitted it. */
  expectRetransmissions: boolean;
  /** Whether the relay must have dropped a DTLS datagram each way. */
  expectDtlsDrops?: boolean;
}

/**
 * Publishes Chromium's camera (filming the test clip) through the proxy and one relay per loopback candidate for
 * `seconds`, unpublishes, and judges the recording: a clean decode, H.264 and Opus, and at least 99% of the video
 * frames sent, never more.
 */
async function publishThroughLoss(
  { toService, script, scriptToPublisher, seconds, expectRetransmissions, expectDtlsDrops }: LossyPublish,
): Promise<void> {
  const service = await startService({ toml: TOML });
  const relays = new Map<number, Promise<LossyRelay>>();
  const proxy = serveWhipProxy(service, async (port, answer) => {
    const relay = relays.get(port) ?? startLossyRelay({
      target: { hostname: "127.0.0.1", port },
      toTarget: toService,
      seed: SEED,
      ...(script !== undefined ? { script: script(payloadKinds(answer)) } : {}),
      ...(scriptToPublisher !== undefined ? { scriptToPublisher } : {}),
    });
    relays.set(port, relay);
    return (await relay).port;
  });
  const pageServer = servePublisherPage();
  const profileDir = await Deno.makeTempDir({ prefix: "liverec-chromium-" });
  let context: BrowserContext | undefined;
  try {
    const camera = await filmingTheClip(profileDir);
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      args: [...PUBLISHER_ARGS, `--use-file-for-fake-video-capture=${camera}`],
    });
    await context.addInitScript(keepPeerConnections);
    const page = context.pages()[0] ?? await context.newPage();
    const consoleLines: string[] = [];
    page.on("console", (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
    page.on("pageerror", (error) => consoleLines.push(`pageerror: ${error.message}`));
    const evidence = async () => {
      const state = await publisherState(page).catch((error) => ({ unavailable: String(error) }));
      const { offerSdp: _, answerSdp, ...rest } = state as Partial<PublisherState>;
      const relayCounts = await Promise.all([...relays.values()].map(async (relay) => (await relay).counts()));
      return [
        `publisher: ${JSON.stringify(rest)}`,
        `relays: ${JSON.stringify(relayCounts)}`,
        `--- answer SDP as the browser got it ---\n${answerSdp ?? "(none)"}`,
        `--- page console ---\n${consoleLines.slice(-30).join("\n")}`,
        `--- service log (tail) ---\n${service.logs().split("\n").slice(-60).join("\n")}`,
      ].join("\n");
    };
    const step = async <T>(what: Promise<T>): Promise<T> => {
      try {
        return await what;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`${message}\n${await evidence()}`, { cause: error });
      }
    };

    await page.goto(`${pageServer.url}/?whip=${encodeURIComponent(`${proxy.url}/whip/${STREAM}`)}&codec=h264`);
    await step(waitFor("the browser's peer connection to be connected", async () => {
      const state = await publisherState(page);
      if (state.errors.length > 0) throw new Error(`publisher errors: ${state.errors.join("; ")}`);
      if (state.connectionState === "failed") throw new Error("the browser's peer connection failed");
      return state.connectionState === "connected" ? state : undefined;
    }, 15_000));
    const status = await step(waitFor(`${seconds} s recorded`, async () => {
      const state = await publisherState(page);
      if (state.connectionState !== "connected") {
        throw new Error(`the browser's peer connection went ${state.connectionState}`);
      }
      const status = await recordStatus(service, STREAM);
      return status.recording && (status.duration_s ?? 0) >= seconds ? status : undefined;
    }, seconds * 1000 + 15_000));
    const remote = await selectedRemote(page);
    const sent = await videoSendStats(page);
    const pipeline = (await recordStatus(service, STREAM)).stats;
    const metrics = await (await service.fetch("/metrics")).text();
    const metric = (name: string) =>
      Number(new RegExp(`^${name}\\{stream="${STREAM}"\\} (\\S+)$`, "m").exec(metrics)?.[1] ?? NaN);

    const deleteStatus = await unpublish(page);
    await step(recordingFinished(service, STREAM, 15_000));
    const state = await publisherState(page);
    const [relay, ...moreRelays] = await Promise.all(relays.values());
    const details = await evidence();
    assert.equal(deleteStatus, 200, `WHIP DELETE answered 200\n${details}`);
    assert.deepEqual(state.errors, [], `no errors in the publisher page\n${details}`);
    assert.ok(relay !== undefined && moreRelays.length === 0, `one loopback candidate, one relay\n${details}`);
    assert.equal(remote, `127.0.0.1:${relay.port}`, `the browser sends to the relay\n${details}`);

    const kinds = payloadKinds(state.answerSdp ?? "");
    const counts = relay.counts();
    const video = total(counts.toTarget, (kind) => kind === kinds.video);
    const rtx = total(counts.toTarget, (kind) => kind === kinds.rtx);
    const framesSent = state.videoFramesSent ?? 0;
    const mpd = join(service.root, status.mpd_path!);
    const decoded = await decodeErrors(mpd);
    const { streams } = await probe(mpd);
    const recordedVideo = streams.find((s) => s.codec_type === "video");
    const recordedAudio = streams.find((s) => s.codec_type === "audio");
    const framesRecorded = Number(recordedVideo?.nb_read_frames ?? 0);
    console.log(
      `seed ${SEED}: ${framesRecorded} of ${framesSent} video frames sent recorded ` +
        `(${(100 * framesRecorded / Math.max(framesSent, 1)).toFixed(2)}%)\n` +
        `relay to the service: ${describe(counts.toTarget, kinds)}\n` +
        `relay to the browser: ${describe(counts.toPublisher, kinds)}\n` +
        `Chromium sent: ${JSON.stringify(sent)}\n` +
        `service pipeline: ${JSON.stringify(pipeline)}\n` +
        `service metrics: NACKs ${metric("liverec_stream_nacks_sent_total")}, retransmissions ` +
        `${metric("liverec_stream_retransmitted_packets_total")}`,
    );

    if (expectRetransmissions) {
      // The impairment happened and recovery answered it: on a clean path this test fails.
      assert.ok(video.dropped > 0 && video.reordered > 0, `the relay dropped and held video\n${details}`);
      assert.ok((sent?.nackCount ?? 0) > 0, `the service sent NACKs: ${JSON.stringify(sent)}\n${details}`);
      assert.ok((sent?.retransmittedPacketsSent ?? 0) > 0, `Chromium retransmitted: ${JSON.stringify(sent)}`);
      assert.ok(rtx.forwarded > 0, `the retransmissions came as RTX (${kinds.rtx})\n${details}`);
      // liverec's receiver reports reach Chromium and count the network's losses, before recovery.
      assert.ok((sent?.remotePacketsLost ?? 0) > 0, `Chromium read losses in the reports: ${JSON.stringify(sent)}`);
      // The service's own counts, as /metrics reports them, agree with what the relay and the browser saw.
      const [nacks, retransmitted] = [
        metric("liverec_stream_nacks_sent_total"),
        metric("liverec_stream_retransmitted_packets_total"),
      ];
      assert.ok(nacks > 0 && retransmitted > 0, `NACKs ${nacks}, retransmissions ${retransmitted} in /metrics`);
      assert.ok(retransmitted <= rtx.forwarded, `no more retransmissions than the relay forwarded: ${retransmitted}`);
    }
    if (expectDtlsDrops) {
      const dtlsDropped = [counts.toTarget.dtls?.dropped, counts.toPublisher.dtls?.dropped];
      assert.deepEqual(dtlsDropped, [1, 1], `one DTLS datagram dropped each way\n${details}`);
    }
    assert.equal(decoded, "", `ffmpeg decodes the recording without errors\n${details}`);
    assert.equal(recordedVideo?.codec_name, "h264", `an H.264 video stream: ${JSON.stringify(streams)}`);
    assert.equal(recordedAudio?.codec_name, "opus", `an Opus audio stream: ${JSON.stringify(streams)}`);
    assert.ok(Number(recordedAudio.nb_read_frames) > 0, JSON.stringify(streams));
    assert.ok(
      framesRecorded >= MIN_RECORDED_SHARE * framesSent && framesRecorded <= framesSent,
      `recorded ${framesRecorded} of the ${framesSent} video frames sent\n${details}`,
    );
  } finally {
    await context?.close();
    await pageServer.close();
    await proxy.close();
    for (const relay of relays.values()) await (await relay).close();
    await service.stop();
    await Deno.remove(profileDir, { recursive: true }).catch(() => {});
  }
}

Deno.test(
  `Chromium's H.264 through ${LOSS_RATE * 100}% loss and ${REORDER_RATE * 100}% reordering: NACK + RTX keep ` +
    `>= ${MIN_RECORDED_SHARE * 100}% of the frames`,
  () =>
    publishThroughLoss({
      toService: { lossRate: LOSS_RATE, reorderRate: REORDER_RATE },
      // The first packet of each payload type passes: no receiver can ask for a packet before the first it saw, so a
      // lost start costs the frames up to the next keyframe. The start is the next test's subject.
      script: () => (_, index) => index === 0 ? "pass" : undefined,
      seconds: 12,
      expectRetransmissions: true,
    }),
);

Deno.test(
  "the stream's first two video packets swapped: the recording still starts at the first keyframe",
  // The reorder buffer holds its first packet for the second, which may be from before it (here the first
  // keyframe's SPS/PPS): otherwise the keyframe has no parameter sets and recording starts about 15 frames later.
  () =>
    publishThroughLoss({
      toService: { lossRate: 0, reorderRate: 0 },
      script: ({ video }) => (kind, index) => kind === video && index === 0 ? "hold" : undefined,
      seconds: 6,
      expectRetransmissions: false,
    }),
);

Deno.test(
  "a DTLS handshake datagram lost each way (the browser's first, the service's first) is retransmitted: the " +
    "publish connects and records",
  // Looking for why a Chromium publish once got no media at all (issue 7): a handshake that a lost datagram stalls
  // would do that. It does not: both ends retransmit their flight.
  () =>
    publishThroughLoss({
      toService: { lossRate: 0, reorderRate: 0 },
      script: () => (kind, index) => kind === "dtls" && index === 0 ? "drop" : undefined,
      scriptToPublisher: (kind, index) => kind === "dtls" && index === 0 ? "drop" : undefined,
      seconds: 3,
      expectRetransmissions: false,
      expectDtlsDrops: true,
    }),
);
