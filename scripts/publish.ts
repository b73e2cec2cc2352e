/**
 * The bundled test publisher: sends the test clip, looped, in real time to a WHIP endpoint, like a camera would.
 * Tests, benchmarks and users checking their setup use it.
 *
 *   deno task publish http://127.0.0.1:7777/whip/stream1 [--seconds 10] [--token T] [--no-audio] [--no-video]
 */

import { publishWhip } from "../src/ingest/whip_client.ts";
import { type Clip, loadClip } from "./clip.ts";

export interface PublishClipOptions {
  url: string;
  seconds: number;
  token?: string;
  video?: boolean;
  audio?: boolean;
  /** First RTP timestamps; set near 2^32 to test wrap-around. Random by default, as RFC 3550 asks. */
  videoTimestampStart?: number;
  audioTimestampStart?: number;
  clip?: Clip;
  /** H.264 fmtp to offer (e.g. packetization-mode=0); see publishWhip. */
  h264Fmtp?: string;
  /** The DTLS role the offer asks for; see publishWhip. */
  offerSetup?: "active" | "passive";
  /** Called once connected; media is sent after what it returns has settled. */
  onConnected?: () => unknown;
  /** Stops publishing early. */
  signal?: AbortSignal;
  /** Called after each video frame is sent, with the count sent so far. */
  onVideoFrame?: (framesSent: number) => void;
  /** Called every `progressEveryS` seconds of media sent, with what was sent so far. */
  onProgress?: (sent: PublishResult) => void;
  progressEveryS?: number;
  /** Fails with PublisherGoneError when the service has sent no RTCP for this long (it went away). */
  goneAfterMs?: number;
}

/** The service stopped answering while the clip was being published. */
export class PublisherGoneError extends Error {
  override name = "PublisherGoneError";
}

/** What was sent, for comparison with what was recorded. */
export interface PublishResult {
  videoFrames: number;
  audioFrames: number;
  keyframeRequests: number;
  seconds: number;
}

/** Publishes the clip for `seconds` of media, paced in real time, then ends the WHIP session. */
export async function publishClip(opts: PublishClipOptions): Promise<PublishResult> {
  const clip = opts.clip ?? await loadClip();
  const video = opts.video ?? true;
  const audio = opts.audio ?? true;
  const publisher = await publishWhip({
    url: opts.url,
    video,
    audio,
    ...(opts.token !== undefined ? { token: opts.token } : {}),
    ...(opts.h264Fmtp !== undefined ? { h264Fmtp: opts.h264Fmtp } : {}),
    ...(opts.offerSetup !== undefined ? { offerSetup: opts.offerSetup } : {}),
  });
  await opts.onConnected?.();
  const videoStart = opts.videoTimestampStart ?? randomUint32();
  const audioStart = opts.audioTimestampStart ?? randomUint32();
  const result: PublishResult = { videoFrames: 0, audioFrames: 0, keyframeRequests: 0, seconds: opts.seconds };
  const startedAt = performance.now();
  const endMs = opts.seconds * 1000;
  const progressEveryMs = (opts.progressEveryS ?? 5) * 1000;
  let nextProgressMs = progressEveryMs;
  try {
    for (let loop = 0;; loop++) {
      const loopMs = loop * clip.durationMs;
      if (loopMs >= endMs || opts.signal?.aborted) break;
      const events = [
        ...(video ? clip.video.map((f) => ({ ms: loopMs + f.ticks / 90, video: f, audio: undefined })) : []),
        ...(audio ? clip.audio.map((f) => ({ ms: loopMs + f.ticks / 48, video: undefined, audio: f })) : []),
      ].sort((a, b) => a.ms - b.ms);
      for (const event of events) {
        if (event.ms >= endMs || opts.signal?.aborted) break;
        const wait = startedAt + event.ms - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        const silentMs = performance.now() - publisher.lastHeardAtMs;
        if (opts.goneAfterMs !== undefined && silentMs > opts.goneAfterMs) {
          throw new PublisherGoneError(`the service went away: nothing heard from it for ${Math.round(silentMs)} ms`);
        }
        if (event.ms >= nextProgressMs) {
          nextProgressMs += progressEveryMs;
          opts.onProgress?.({ ...result, keyframeRequests: publisher.keyframeRequests, seconds: event.ms / 1000 });
        }
        if (event.video !== undefined) {
          const ts = videoStart + Math.round(loopMs * 90) + event.video.ticks;
          await publisher.sendVideo(event.video.nalUnits, ts >>> 0);
          result.videoFrames++;
          opts.onVideoFrame?.(result.videoFrames);
        } else if (event.audio !== undefined) {
          const ts = audioStart + Math.round(loopMs * 48) + event.audio.ticks;
          await publisher.sendAudio(event.audio.data, ts >>> 0);
          result.audioFrames++;
        }
      }
    }
  } finally {
    result.keyframeRequests = publisher.keyframeRequests;
    await publisher.close();
  }
  return result;
}

function randomUint32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

if (import.meta.main) {
  const args = [...Deno.args];
  const flag = (name: string) => {
    const at = args.indexOf(name);
    return at < 0 ? undefined : args.splice(at, 2)[1];
  };
  const seconds = Number(flag("--seconds") ?? "30");
  const token = flag("--token");
  const noAudio = args.includes("--no-audio");
  const noVideo = args.includes("--no-video");
  const url = args.find((a) => !a.startsWith("--"));
  if (url === undefined || !Number.isFinite(seconds) || seconds <= 0) {
    console.error("usage: deno task publish <whip-url> [--seconds N] [--token T] [--no-audio] [--no-video]");
    Deno.exit(2);
  }
  try {
    const result = await publishClip({
      url,
      seconds,
      video: !noVideo,
      audio: !noAudio,
      ...(token !== undefined ? { token } : {}),
      onConnected: () => console.error(`connected to ${url}; publishing ${seconds} s`),
      onProgress: (sent) =>
        console.error(
          `published ${Math.round(sent.seconds)} s: ${sent.videoFrames} video frames, ${sent.audioFrames} audio ` +
            `frames, ${sent.keyframeRequests} keyframe requests`,
        ),
      goneAfterMs: 5_000,
    });
    console.log(JSON.stringify(result));
    Deno.exit(0);
  } catch (error) {
    // fetch's own message ("fetch failed") says why only in its cause.
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
    console.error(`publish: ${error instanceof Error ? error.message : String(error)}${cause}`);
    Deno.exit(1);
  }
}
