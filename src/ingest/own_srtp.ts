/**
 * SRTP by liverec's own contexts (`src/srtp/`) instead of werift's, on a peer connection's DTLS transports. werift
 * still runs ICE, DTLS and the RTP side (routing, RTX, PLI, reports; NACKs are liverec's, `own_nack.ts`); what changes is the decryption of what the
 * publisher sends and the encryption of the RTCP liverec sends. werift makes new cipher objects for every packet
 * (and under Deno never releases those of AES-CM), which made its SRTP the largest part of the service's CPU.
 *
 * werift builds a transport's SRTP sessions from the DTLS-exported keys in `updateSrtpSession`, when DTLS completes;
 * liverec wraps that method and swaps the sessions' functions for its own, so a re-keying gets new contexts too.
 */

import { Buffer } from "node:buffer";
import { type RTCDtlsTransport, SrtpAuthenticationError } from "werift";
import { createSrtpContext, type SrtpContext, type SrtpFailure } from "../srtp/mod.ts";

/** The parts of werift's RTCDtlsTransport and its SRTP sessions that are replaced. */
interface WeriftSrtp {
  updateSrtpSession(): void;
  srtp: {
    config: { profile: number; keys: Record<KeyName, Buffer> };
    decrypt: (data: Buffer) => Buffer;
  };
  srtcp: {
    decrypt: (data: Buffer) => Buffer;
    encrypt: (rtcp: Buffer) => Buffer;
  };
}

type KeyName = "localMasterKey" | "localMasterSalt" | "remoteMasterKey" | "remoteMasterSalt";

/** Where liverec decrypts: its own contexts, or werift's (a profile liverec does not know). */
export type SrtpEngine = "liverec" | "werift";

/**
 * Makes `dtls` use liverec's SRTP once DTLS completes; `onStart` hears which engine runs and with which profile.
 * Answers a function that releases the contexts (call it when the session ends).
 */
export function useOwnSrtp(
  dtls: RTCDtlsTransport,
  onStart: (engine: SrtpEngine, profile: number) => void,
): () => void {
  const transport = dtls as unknown as WeriftSrtp;
  const weriftUpdate = transport.updateSrtpSession.bind(transport);
  let contexts: SrtpContext[] = [];
  const release = () => {
    for (const context of contexts) context.close();
    contexts = [];
  };
  transport.updateSrtpSession = () => {
    weriftUpdate();
    release();
    const { profile, keys } = transport.srtp.config;
    const receiving = createSrtpContext(profile, keys.remoteMasterKey, keys.remoteMasterSalt);
    const sending = createSrtpContext(profile, keys.localMasterKey, keys.localMasterSalt);
    if (isFailure(receiving) || isFailure(sending)) {
      onStart("werift", profile);
      return;
    }
    contexts = [receiving, sending];
    transport.srtp.decrypt = (data) => asBuffer(receiving.unprotectRtp(data));
    transport.srtcp.decrypt = (data) => asBuffer(receiving.unprotectRtcp(data));
    transport.srtcp.encrypt = (rtcp) => asBuffer(sending.protectRtcp(rtcp));
    onStart("liverec", profile);
  };
  return release;
}

function isFailure(result: SrtpContext | SrtpFailure): result is SrtpFailure {
  return "reason" in result;
}

/** The packet as the Buffer werift expects (the same memory); a refused one as the error werift drops packets on. */
function asBuffer(result: Uint8Array | SrtpFailure): Buffer {
  if (!(result instanceof Uint8Array)) throw new SrtpAuthenticationError(result.message);
  return Buffer.from(result.buffer, result.byteOffset, result.byteLength);
}
