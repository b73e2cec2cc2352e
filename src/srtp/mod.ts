/**
 * Public API of the SRTP/SRTCP core (RFC 3711, RFC 7714; profiles 0x0001, 0x0002, 0x0007): no I/O, node:crypto and
 * plain TypeScript only. One context per direction: the remote master key unprotects, the local one protects RTCP.
 * unprotectRtp, 1100-byte RTP, Deno 2.9.6 (srtp_bench.ts): CM-80 5.7 µs, GCM 12.5 µs; werift 0.25.2: 44 µs, 29 µs.
 * Bun 1.4.5: CM-80 7.9 µs, GCM 4.5 µs; werift 7.3 µs, 5.3 µs (Bun's node:crypto is cheap; see hmac_sha1.ts).
 */

export { createSrtpContext, type SrtpContext, type SrtpFailure, type SrtpFailureReason } from "./srtp_context.ts";
export {
  SRTP_AEAD_AES_128_GCM,
  SRTP_AES128_CM_HMAC_SHA1_32,
  SRTP_AES128_CM_HMAC_SHA1_80,
  type SrtpProfile,
} from "./profiles.ts";
export { type Libsrtp, LIBSRTP_FILE, openLibsrtp, type SrtpReceiver, type SrtpSender } from "./libsrtp.ts";
