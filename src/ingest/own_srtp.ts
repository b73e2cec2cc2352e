/**
 * SRTP by liverec's own contexts (`src/srtp/`), or libsrtp's sessions where it is installed, instead of werift's, on a
 * peer connection's DTLS transports, in the service and in the test publisher. werift still runs ICE and DTLS; what
 * changes is the decryption of what the peer sends and the encryption of what goes to it. werift makes new cipher
 * objects for every packet (and under Deno never releases those of AES-CM), which made its SRTP the largest part of
 * the service's CPU, and of a werift publisher's.
 *
 * werift builds a transport's SRTP sessions from the DTLS-exported keys in `updateSrtpSession`, when DTLS completes;
 * liverec wraps that method and swaps the sessions' functions for its own, so a re-keying gets new contexts too.
 */

import { Buffer } from "node:buffer";
import { type RTCDtlsTransport, type RtpHeader, SrtpAuthenticationError } from "werift";
import {
  createSrtpContext,
  type Libsrtp,
  SRTP_AEAD_AES_128_GCM,
  SRTP_AES128_CM_HMAC_SHA1_80,
  type SrtpFailure,
  type SrtpReceiver,
} from "../srtp/mod.ts";
import { isBun } from "../shared/runtime.ts";

/** The parts of werift's RTCDtlsTransport and its SRTP sessions that are replaced. */
interface WeriftSrtp {
  updateSrtpSession(): void;
  /** The profiles offered in the DTLS handshake, read when it starts. */
  srtpProfiles: number[];
  srtp: {
    config: { profile: number; keys: Record<KeyName, Buffer> };
    decrypt: (data: Buffer) => Buffer;
    encrypt: (payload: Buffer, header: RtpHeader) => Buffer;
  };
  srtcp: {
    decrypt: (data: Buffer) => Buffer;
    encrypt: (rtcp: Buffer) => Buffer;
  };
}

type KeyName = "localMasterKey" | "localMasterSalt" | "remoteMasterKey" | "remoteMasterSalt";

/**
 * The protection profiles liverec offers in DTLS (RFC 5764 §4.1.2), most wanted first: as the DTLS server, liverec
 * picks the first the publisher also offers. First comes the one this runtime unprotects fastest (srtp_bench.ts, per
 * 1,100-byte packet: libsrtp GCM 1.7-1.9 µs, AES-CM 7.6-8.1; without it, Deno AES-CM 5.7 µs, GCM 12.5 µs; Bun GCM
 * 4.5 µs, AES-CM 7.9 µs). werift's own order is GCM first. Both are WebRTC's (RFC 8827 §6.5);
 * AES_CM_128_HMAC_SHA1_80 is the one every endpoint must have.
 */
function preferredProfiles(libsrtp: Libsrtp | undefined): number[] {
  return libsrtp !== undefined || isBun
    ? [SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80]
    : [SRTP_AES128_CM_HMAC_SHA1_80, SRTP_AEAD_AES_128_GCM];
}

/** Where liverec decrypts: libsrtp's session, its own contexts, or werift's (a profile liverec does not know). */
export type SrtpEngine = "libsrtp" | "liverec" | "werift";

/**
 * Makes `dtls` offer liverec's preferred profiles and use liverec's SRTP once DTLS completes: libsrtp's sessions
 * where `libsrtp` is given, else liverec's own contexts. `onStart` hears which engine runs, with which profile, and the
 * receiver that unprotects what the peer sends (unless werift's does). Answers a function that releases them (call it
 * when the session ends).
 */
export function useOwnSrtp(
  dtls: RTCDtlsTransport,
  onStart: (engine: SrtpEngine, profile: number, receiving?: SrtpReceiver) => void,
  libsrtp?: Libsrtp,
): () => void {
  const transport = dtls as unknown as WeriftSrtp;
  transport.srtpProfiles = preferredProfiles(libsrtp);
  const weriftUpdate = transport.updateSrtpSession.bind(transport);
  let contexts: { close(): void }[] = [];
  const release = () => {
    for (const context of contexts) context.close();
    contexts = [];
  };
  transport.updateSrtpSession = () => {
    weriftUpdate();
    release();
    const { profile, keys } = transport.srtp.config;
    const receiving = libsrtp?.receiver(profile, keys.remoteMasterKey, keys.remoteMasterSalt) ??
      createSrtpContext(profile, keys.remoteMasterKey, keys.remoteMasterSalt);
    const sending = libsrtp?.sender(profile, keys.localMasterKey, keys.localMasterSalt) ??
      createSrtpContext(profile, keys.localMasterKey, keys.localMasterSalt);
    if (isFailure(receiving) || isFailure(sending)) {
      if (!isFailure(receiving)) receiving.close();
      if (!isFailure(sending)) sending.close();
      onStart("werift", profile);
      return;
    }
    contexts = [receiving, sending];
    transport.srtp.decrypt = (data) => asBuffer(receiving.unprotectRtp(data));
    transport.srtp.encrypt = (payload, header) => {
      const headerBytes = header.serialize(header.serializeSize);
      const packet = new Uint8Array(headerBytes.length + payload.length);
      packet.set(headerBytes);
      packet.set(payload, headerBytes.length);
      return asBuffer(sending.protectRtp(packet));
    };
    transport.srtcp.decrypt = (data) => asBuffer(receiving.unprotectRtcp(data));
    transport.srtcp.encrypt = (rtcp) => asBuffer(sending.protectRtcp(rtcp));
    onStart(libsrtp !== undefined ? "libsrtp" : "liverec", profile, receiving);
  };
  return release;
}

function isFailure<T extends object>(result: T | SrtpFailure): result is SrtpFailure {
  return "reason" in result;
}

/** The packet as the Buffer werift expects (the same memory); a refused one as the error werift drops packets on. */
function asBuffer(result: Uint8Array | SrtpFailure): Buffer {
  if (!(result instanceof Uint8Array)) throw new SrtpAuthenticationError(result.message);
  return Buffer.from(result.buffer, result.byteOffset, result.byteLength);
}

/** Protects plain RTCP packets (one compound packet) and sends them over `dtls`; a failed send is dropped. */
export function sendRtcp(dtls: RTCDtlsTransport, packets: Uint8Array[]): void {
  const rtcp = packets.map((bytes) => ({ serialize: () => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length) }));
  // werift serializes what it is given; liverec's packets are bytes already.
  dtls.sendRtcp(rtcp as unknown as Parameters<RTCDtlsTransport["sendRtcp"]>[0]).catch(() => {});
}
