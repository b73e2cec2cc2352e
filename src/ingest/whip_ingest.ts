/**
 * WHIP ingest (RFC 9725): turns an SDP offer into a published stream, ends it on DELETE, on a failed or closed
 * connection, or when media stops arriving. One publisher per stream name (the hub enforces it).
 */

import { type GridTimer, setAlignedInterval } from "../shared/aligned_timer.ts";
import { NotFoundError } from "../shared/errors.ts";
import type { Clock } from "../shared/clock.ts";
import type { Logger } from "../shared/log.ts";
import type { StreamHub, UnpublishReason } from "../recorder/mod.ts";
import { chooseFromOffer } from "./offer.ts";
import type { UdpMux } from "./udp_mux.ts";
import type { WebrtcOptions } from "./webrtc_config.ts";
import type { WhipSession } from "./whip_session.ts";
import type { Libsrtp } from "../srtp/mod.ts";

/**
 * The WebRTC stack (werift and what it pulls in: about 30 MiB of memory), loaded with the first publish: a service
 * that records only RTMP never pays for it.
 */
let webrtcStack: Promise<typeof import("./whip_session.ts")> | undefined;
function loadWebrtcStack(): Promise<typeof import("./whip_session.ts")> {
  // werift's certificate code (@peculiar/x509 with tsyringe) needs the Reflect metadata polyfill set up before it
  // runs. Bun's single binary loads a lazily imported graph out of that order, so the polyfill is loaded first.
  return webrtcStack ??= import("reflect-metadata").then(() => import("./whip_session.ts"));
}

/** A publish that sends no media for this long is ended (ICE-lite gets no consent checks of its own). */
const MEDIA_TIMEOUT_MS = 10_000;
/**
 * After a publisher's DELETE, media it sent just before may still be in flight (UDP, SRTP decryption): keep
 * receiving this long before the stream ends, so the last packets are recorded too.
 */
const DRAIN_MS = 250;
/**
 * A publisher that sent nothing for this long loses its stream to a new publisher of the same name: a client
 * reconnecting after a network drop must not wait out the media timeout (and the recording can splice).
 */
const STALE_MS = 2_000;

export interface WhipIngestOptions {
  hub: StreamHub;
  clock: Clock;
  log: Logger;
  webrtc: WebrtcOptions;
  /** The one UDP port every session shares; without it each session binds its own. */
  udpMux?: UdpMux;
  mediaTimeoutMs?: number;
  drainMs?: number;
  /** libsrtp's file (a name the dynamic linker finds, or a path; default `libsrtp2.so.1`), or "off". */
  libsrtp?: string | undefined;
}

/** The WHIP endpoint's state: live sessions by id. */
export class WhipIngest {
  readonly #opts: WhipIngestOptions;
  readonly #sessions = new Map<string, WhipSession>();
  /** Ends the sessions that went quiet; it runs while there are sessions, so an idle service does not wake for it. */
  #watchdog: GridTimer | undefined;
  /** libsrtp, where installed: it unprotects what publishers send (else liverec's own SRTP does). */
  #libsrtp: Promise<Libsrtp | undefined> | undefined;

  constructor(opts: WhipIngestOptions) {
    this.#opts = opts;
  }

  #watch(): void {
    const timeoutMs = this.#opts.mediaTimeoutMs ?? MEDIA_TIMEOUT_MS;
    this.#watchdog ??= setAlignedInterval(() => {
      const now = this.#opts.clock.nowMs();
      for (const session of this.#sessions.values()) {
        if (now - session.lastPacketAtMs > timeoutMs) void this.#end(session, `no media for ${timeoutMs} ms`, "lost");
      }
    }, Math.min(1_000, timeoutMs));
  }

  /** Loads libsrtp with the first publish (and the rest of the SRTP code with it); the log says which SRTP runs. */
  #loadLibsrtp(): Promise<Libsrtp | undefined> {
    return this.#libsrtp ??= (async () => {
      const { LIBSRTP_FILE, openLibsrtp } = await import("../srtp/mod.ts");
      const path = this.#opts.libsrtp;
      const libsrtp = path === "off" ? undefined : await openLibsrtp(path);
      const srtp = libsrtp !== undefined
        ? `libsrtp ${libsrtp.version}`
        : `liverec's own (${path === "off" ? "libsrtp off" : `${path ?? LIBSRTP_FILE} not found`})`;
      this.#opts.log("info", "webrtc srtp", { srtp });
      return libsrtp;
    })();
  }

  /** Publishes `streamId` from an SDP offer; answers the SDP and the session id for the resource URL. */
  async publish(streamId: string, offerSdp: string): Promise<{ sessionId: string; answerSdp: string }> {
    const { hub, clock, log, webrtc } = this.#opts;
    const choice = chooseFromOffer(offerSdp, webrtc.videoCodecs);
    const [{ WhipSession }, libsrtp] = await Promise.all([loadWebrtcStack(), this.#loadLibsrtp()]);
    const stale = [...this.#sessions.values()].find((s) =>
      s.streamId === streamId && clock.nowMs() - s.lastPacketAtMs >= STALE_MS
    );
    if (stale !== undefined) await this.#end(stale, "replaced by a new publisher", "lost");
    const session = new WhipSession(streamId, choice, webrtc, clock, this.#opts.udpMux, libsrtp);
    try {
      hub.publish(session);
    } catch (error) {
      await session.close();
      throw error;
    }
    this.#sessions.set(session.id, session);
    this.#watch();
    try {
      const answerSdp = await session.answer(offerSdp);
      session.pc.connectionStateChange.subscribe((state) => {
        if (state === "connected") {
          log("info", "publish connected", { stream: streamId, srtp: session.srtp, media: session.mediaPath });
        }
        if (state === "failed" || state === "closed") void this.#end(session, `connection ${state}`, "lost");
      });
      log("info", "publish started", {
        stream: streamId,
        session: session.id,
        tracks: session.tracks.map((t) => t.kind).join("+"),
        ...(choice.ignored.length > 0 ? { ignored: choice.ignored.join("; ") } : {}),
      });
      return { sessionId: session.id, answerSdp };
    } catch (error) {
      await this.#end(session, "negotiation failed", "lost");
      throw error;
    }
  }

  /** Ends a publish (the WHIP resource's DELETE), after letting media still in flight arrive. */
  async end(streamId: string, sessionId: string): Promise<void> {
    const session = this.#find(streamId, sessionId);
    await new Promise((resolve) => setTimeout(resolve, this.#opts.drainMs ?? DRAIN_MS));
    // What arrived since the socket's last poll, too (a busy box can hold a poll back past the drain).
    await session.flush();
    await this.#end(session, "publisher ended the session", "ended");
  }

  /** Adds trickled candidates (RFC 8840 SDP fragment) to a publish. */
  async trickle(streamId: string, sessionId: string, fragment: string): Promise<void> {
    const session = this.#find(streamId, sessionId);
    const mid = /^a=mid:(\S+)$/m.exec(fragment)?.[1];
    for (const line of fragment.split(/\r?\n/)) {
      if (!line.startsWith("a=candidate:")) continue;
      await session.pc.addIceCandidate({ candidate: line.slice(2), sdpMid: mid ?? "0" }).catch(() => {});
    }
  }

  /** Ends every publish; used at shutdown after recordings are finalized. */
  async close(): Promise<void> {
    this.#watchdog?.clear();
    this.#watchdog = undefined;
    await Promise.allSettled([...this.#sessions.values()].map((s) => this.#end(s, "service stopping", "ended")));
  }

  #find(streamId: string, sessionId: string): WhipSession {
    const session = this.#sessions.get(sessionId);
    if (session === undefined || session.streamId !== streamId) {
      throw new NotFoundError(`no WHIP session "${sessionId}" for stream "${streamId}"`);
    }
    return session;
  }

  async #end(session: WhipSession, reason: string, kind: UnpublishReason): Promise<void> {
    if (!this.#sessions.delete(session.id)) return;
    if (this.#sessions.size === 0) {
      this.#watchdog?.clear();
      this.#watchdog = undefined;
    }
    // The transport's state says whether a publish that sent nothing ever connected (ICE, DTLS) or stopped sending.
    this.#opts.log("info", "publish ended", {
      stream: session.streamId,
      session: session.id,
      reason,
      ...(kind === "lost" ? session.transport : {}),
    });
    this.#opts.hub.unpublish(session, kind);
    await session.close();
  }
}
