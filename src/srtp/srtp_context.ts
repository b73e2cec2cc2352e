/**
 * One direction's SRTP/SRTCP cryptographic context (RFC 3711 §3.2): session keys derived once from a master key and
 * salt, and per SSRC the highest packet index with a replay window of 1024 packets (SRTP: index estimated from the sequence
 * number, §3.3.1; SRTCP: the explicit index, §3.4), plus the SRTCP index of each SSRC it protects for.
 *
 * DTLS-SRTP keys each direction separately (RFC 5764 §4.2): unprotect what the peer sends with a context made from the
 * remote master key and salt, and protect RTCP liverec sends with another made from the local ones.
 *
 * Unprotecting decrypts in place: on success the input's payload bytes are overwritten with the plaintext and a view of
 * the input (the plain packet: header, payload, and padding if any, without the SRTCP index and the tag) is returned;
 * the context keeps no reference to it, so the next call does not touch it. A refused packet is left unchanged and
 * leaves the context unchanged. Bad packets come back as an `SrtpFailure` (test results with `instanceof Uint8Array`),
 * never as an exception.
 */

import { AesCtrKeystream, RtpKeystreamCache } from "./aes_ctr.ts";
import { AesGcmCipher } from "./aes_gcm.ts";
import { constantTimeEqual, HmacSha1 } from "./hmac_sha1.ts";
import { deriveSessionKeys, type SessionKeys } from "./key_derivation.ts";
import { estimatePacketIndex, REPLAY_DUPLICATE, REPLAY_FRESH, ReplayWindow } from "./packet_index.ts";
import { type SrtpProfile, type SrtpProfileSizes, srtpProfileSizes } from "./profiles.ts";

/** Why a packet or a context was refused. */
export type SrtpFailureReason =
  /** Shorter than the smallest packet the profile allows (header, SRTCP index, tag). */
  | "tooShort"
  /** Not RTP/RTCP version 2, or CSRCs or a header extension running past the encrypted part. */
  | "malformed"
  /** The authentication tag does not match: tampered, or protected with other keys. */
  | "authFailed"
  /** The index was received already. */
  | "replayed"
  /** The index is behind the replay window (or before the stream's first rollover), so a replay cannot be ruled out. */
  | "tooOld"
  /** `createSrtpContext` with a protection profile other than 0x0001, 0x0002 and 0x0007. */
  | "unknownProfile"
  /** `createSrtpContext` with a master key or salt of the wrong length for the profile. */
  | "badKeyLength";

/** A refused packet or context. The same frozen object is returned for every failure of a reason. */
export interface SrtpFailure {
  readonly reason: SrtpFailureReason;
  readonly message: string;
}

const failure = (reason: SrtpFailureReason, message: string): SrtpFailure => Object.freeze({ reason, message });
const TOO_SHORT = failure("tooShort", "packet too short for SRTP/SRTCP");
const MALFORMED = failure("malformed", "not an RTP/RTCP version 2 packet, or its header runs past the payload");
const AUTH_FAILED = failure("authFailed", "SRTP/SRTCP authentication failed");
const REPLAYED = failure("replayed", "SRTP/SRTCP packet replayed");
const TOO_OLD = failure("tooOld", "SRTP/SRTCP packet older than the replay window");
const UNKNOWN_PROFILE = failure("unknownProfile", "unknown SRTP protection profile");
const BAD_KEY_LENGTH = failure("badKeyLength", "master key or salt length does not match the SRTP profile");

/** Each reason's failure, for the other engine (libsrtp.ts), which answers with the same objects. */
export const SRTP_FAILURES: Readonly<Record<SrtpFailureReason, SrtpFailure>> = {
  tooShort: TOO_SHORT,
  malformed: MALFORMED,
  authFailed: AUTH_FAILED,
  replayed: REPLAYED,
  tooOld: TOO_OLD,
  unknownProfile: UNKNOWN_PROFILE,
  badKeyLength: BAD_KEY_LENGTH,
};

const RTP_HEADER_BYTES = 12;
const RTCP_HEADER_BYTES = 8;
const SRTCP_INDEX_BYTES = 4;
const SRTCP_E_FLAG = 0x80000000;
const MAX_SRTCP_INDEX = 0x7fffffff;

/**
 * A context for `profile` from its master key and salt (as DTLS-SRTP exports them, RFC 5764 §4.2), or the failure
 * `unknownProfile` or `badKeyLength` (tell them apart with `"reason" in result`).
 */
export function createSrtpContext(
  profile: number,
  masterKey: Uint8Array,
  masterSalt: Uint8Array,
): SrtpContext | SrtpFailure {
  const sizes = srtpProfileSizes(profile);
  if (sizes === undefined) return UNKNOWN_PROFILE;
  if (masterKey.length !== sizes.masterKeyBytes || masterSalt.length !== sizes.masterSaltBytes) return BAD_KEY_LENGTH;
  const keys = deriveSessionKeys(sizes, masterKey, masterSalt);
  return new SrtpContext(sizes, keys.rtp, keys.rtcp);
}

/** Per-SSRC state of a received SRTP stream. */
class RtpStream {
  readonly window: ReplayWindow;
  readonly keystream = new RtpKeystreamCache();

  constructor(firstIndex: number) {
    this.window = new ReplayWindow(firstIndex);
  }
}

/** SRTP and SRTCP with one direction's session keys; see the module comment. */
export class SrtpContext {
  readonly profile: SrtpProfile;
  readonly #srtpAuthTagBytes: number;
  readonly #srtcpAuthTagBytes: number;
  /** SRTP payload keystream: AES-CM, or GCM's counter mode once `#rtpGcm` has checked the tag. */
  readonly #rtpKeystream: AesCtrKeystream;
  /** AES-CM profiles: HMACs, and SRTCP's keystream. */
  readonly #rtpHmac: HmacSha1 | undefined;
  readonly #rtcpHmac: HmacSha1 | undefined;
  readonly #rtcpKeystream: AesCtrKeystream | undefined;
  /** GCM profile: SRTP tags and IVs, and SRTCP. */
  readonly #rtpGcm: AesGcmCipher | undefined;
  readonly #rtcpGcm: AesGcmCipher | undefined;
  /** SRTCP's associated data when encrypted (RFC 7714 §17): the first 8 bytes and the E flag with the index. */
  readonly #rtcpAad = new Uint8Array(RTCP_HEADER_BYTES + SRTCP_INDEX_BYTES);
  readonly #rtpStreams = new Map<number, RtpStream>();
  readonly #rtcpWindows = new Map<number, ReplayWindow>();
  readonly #nextSrtcpIndex = new Map<number, number>();
  /** Per SSRC sent: the highest packet index so far (its rollover counter) and the keystream batch. */
  readonly #sentStreams = new Map<number, { highestIndex: number; keystream: RtpKeystreamCache }>();
  #closed = false;

  /** From session keys already derived; `createSrtpContext` derives them from the master key and salt. */
  constructor(sizes: SrtpProfileSizes, rtpKeys: SessionKeys, rtcpKeys: SessionKeys) {
    this.profile = sizes.profile;
    this.#srtpAuthTagBytes = sizes.srtpAuthTagBytes;
    this.#srtcpAuthTagBytes = sizes.srtcpAuthTagBytes;
    if (sizes.aead) {
      this.#rtpKeystream = new AesCtrKeystream(rtpKeys.encryptionKey, rtpKeys.salt, "gcm");
      this.#rtpGcm = new AesGcmCipher(rtpKeys.encryptionKey, rtpKeys.salt);
      this.#rtcpGcm = new AesGcmCipher(rtcpKeys.encryptionKey, rtcpKeys.salt);
    } else {
      this.#rtpKeystream = new AesCtrKeystream(rtpKeys.encryptionKey, rtpKeys.salt, "aesCm");
      this.#rtpHmac = new HmacSha1(rtpKeys.authKey);
      this.#rtcpKeystream = new AesCtrKeystream(rtcpKeys.encryptionKey, rtcpKeys.salt, "aesCm");
      this.#rtcpHmac = new HmacSha1(rtcpKeys.authKey);
    }
  }

  /** The plain RTP packet of an SRTP packet, decrypted in place (see the module comment), or why it was refused. */
  unprotectRtp(packet: Uint8Array): Uint8Array | SrtpFailure {
    this.#assertOpen();
    const end = packet.length - this.#srtpAuthTagBytes;
    if (end < RTP_HEADER_BYTES) return TOO_SHORT;
    const headerBytes = rtpHeaderBytes(packet, end);
    if (headerBytes < 0) return MALFORMED;
    const sequenceNumber = (packet[2]! << 8) | packet[3]!;
    const ssrc = readUint32(packet, 8);
    let stream = this.#rtpStreams.get(ssrc);
    let index = sequenceNumber;
    if (stream !== undefined) {
      index = estimatePacketIndex(stream.window.highestIndex, sequenceNumber);
      if (index < 0) return TOO_OLD;
      const check = stream.window.check(index);
      if (check !== REPLAY_FRESH) return check === REPLAY_DUPLICATE ? REPLAYED : TOO_OLD;
    }
    const rolloverCounter = Math.floor(index / 0x10000);

    if (this.#rtpGcm !== undefined) {
      const iv = this.#rtpGcm.rtpIv(ssrc, rolloverCounter, sequenceNumber);
      const header = packet.subarray(0, headerBytes);
      if (!this.#rtpGcm.tagMatches(iv, header, packet.subarray(headerBytes, end), packet.subarray(end))) {
        return AUTH_FAILED;
      }
    } else {
      const tag = this.#rtpHmac!.compute(packet, end, rolloverCounter);
      if (!constantTimeEqual(tag, 0, packet, end, this.#srtpAuthTagBytes)) return AUTH_FAILED;
    }

    if (stream === undefined) {
      stream = new RtpStream(index);
      this.#rtpStreams.set(ssrc, stream);
    } else {
      stream.window.accept(index);
    }
    this.#rtpKeystream.applyRtp(stream.keystream, packet, headerBytes, end, ssrc, index);
    return packet.subarray(0, end);
  }

  /** The plain (compound) RTCP packet of an SRTCP packet, decrypted in place when its E flag is set, or why not. */
  unprotectRtcp(packet: Uint8Array): Uint8Array | SrtpFailure {
    this.#assertOpen();
    const tagBytes = this.#srtcpAuthTagBytes;
    // AES-CM: packet || E+index || tag; GCM: header || ciphertext+tag || E+index (RFC 7714 §9).
    const indexAt = packet.length - SRTCP_INDEX_BYTES - (this.#rtcpGcm !== undefined ? 0 : tagBytes);
    const plainEnd = this.#rtcpGcm !== undefined ? indexAt - tagBytes : indexAt;
    if (plainEnd < RTCP_HEADER_BYTES) return TOO_SHORT;
    if (packet[0]! >>> 6 !== 2) return MALFORMED;
    const eAndIndex = readUint32(packet, indexAt);
    const encrypted = eAndIndex >= SRTCP_E_FLAG;
    const index = eAndIndex & MAX_SRTCP_INDEX;
    const ssrc = readUint32(packet, 4);
    const window = this.#rtcpWindows.get(ssrc);
    if (window !== undefined) {
      const check = window.check(index);
      if (check !== REPLAY_FRESH) return check === REPLAY_DUPLICATE ? REPLAYED : TOO_OLD;
    }

    if (this.#rtcpGcm !== undefined) {
      const iv = this.#rtcpGcm.rtcpIv(ssrc, index);
      const tag = packet.subarray(plainEnd, indexAt);
      let plaintext: Uint8Array | undefined;
      if (encrypted) {
        const aad = this.#rtcpAad;
        aad.set(packet.subarray(0, RTCP_HEADER_BYTES));
        aad.set(packet.subarray(indexAt), RTCP_HEADER_BYTES);
        plaintext = this.#rtcpGcm.open(iv, aad, packet.subarray(RTCP_HEADER_BYTES, plainEnd), tag);
      } else {
        // Authenticated only: the whole packet and the index word are the associated data (RFC 7714 §9).
        const aad = new Uint8Array(plainEnd + SRTCP_INDEX_BYTES);
        aad.set(packet.subarray(0, plainEnd));
        aad.set(packet.subarray(indexAt), plainEnd);
        plaintext = this.#rtcpGcm.open(iv, aad, packet.subarray(0, 0), tag);
      }
      if (plaintext === undefined) return AUTH_FAILED;
      if (encrypted) packet.set(plaintext, RTCP_HEADER_BYTES);
    } else {
      const authenticatedEnd = packet.length - tagBytes;
      const tag = this.#rtcpHmac!.compute(packet, authenticatedEnd);
      if (!constantTimeEqual(tag, 0, packet, authenticatedEnd, tagBytes)) return AUTH_FAILED;
      if (encrypted) this.#rtcpKeystream!.apply(packet, RTCP_HEADER_BYTES, plainEnd, ssrc, index);
    }

    if (window === undefined) this.#rtcpWindows.set(ssrc, new ReplayWindow(index));
    else window.accept(index);
    return packet.subarray(0, plainEnd);
  }

  /**
   * The SRTP packet (a new buffer) of a plain RTP packet, for a sender. Each SSRC's rollover counter follows its
   * sequence numbers as a receiver's does (RFC 3711 §3.3.1). The input is not modified.
   */
  protectRtp(packet: Uint8Array): Uint8Array | SrtpFailure {
    this.#assertOpen();
    if (packet.length < RTP_HEADER_BYTES) return TOO_SHORT;
    const headerBytes = rtpHeaderBytes(packet, packet.length);
    if (headerBytes < 0) return MALFORMED;
    const sequenceNumber = (packet[2]! << 8) | packet[3]!;
    const ssrc = readUint32(packet, 8);
    let stream = this.#sentStreams.get(ssrc);
    const index = stream === undefined ? sequenceNumber : estimatePacketIndex(stream.highestIndex, sequenceNumber);
    if (index < 0) return TOO_OLD;
    if (stream === undefined) {
      stream = { highestIndex: index, keystream: new RtpKeystreamCache() };
      this.#sentStreams.set(ssrc, stream);
    }
    stream.highestIndex = Math.max(stream.highestIndex, index);
    const rolloverCounter = Math.floor(index / 0x10000);
    const out = new Uint8Array(packet.length + this.#srtpAuthTagBytes);
    if (this.#rtpGcm !== undefined) {
      out.set(packet.subarray(0, headerBytes));
      const iv = this.#rtpGcm.rtpIv(ssrc, rolloverCounter, sequenceNumber);
      this.#rtpGcm.seal(iv, packet.subarray(0, headerBytes), packet.subarray(headerBytes), out, headerBytes);
    } else {
      out.set(packet);
      this.#rtpKeystream.applyRtp(stream.keystream, out, headerBytes, packet.length, ssrc, index);
      const tag = this.#rtpHmac!.compute(out, packet.length, rolloverCounter);
      out.set(tag.subarray(0, this.#srtpAuthTagBytes), packet.length);
    }
    return out;
  }

  /**
   * An SRTCP packet (a new buffer, encrypted, E flag set) of a plain (compound) RTCP packet, with the next SRTCP index
   * of the packet's SSRC: 0 first, then one more each time, modulo 2^31 (RFC 3711 §3.4). The input is not modified.
   */
  protectRtcp(packet: Uint8Array): Uint8Array | SrtpFailure {
    this.#assertOpen();
    if (packet.length < RTCP_HEADER_BYTES) return TOO_SHORT;
    if (packet[0]! >>> 6 !== 2) return MALFORMED;
    const ssrc = readUint32(packet, 4);
    const index = this.#nextSrtcpIndex.get(ssrc) ?? 0;
    this.#nextSrtcpIndex.set(ssrc, (index + 1) & MAX_SRTCP_INDEX);
    const eAndIndex = (SRTCP_E_FLAG | index) >>> 0;
    const tagBytes = this.#srtcpAuthTagBytes;
    const out = new Uint8Array(packet.length + tagBytes + SRTCP_INDEX_BYTES);

    if (this.#rtcpGcm !== undefined) {
      const aad = this.#rtcpAad;
      aad.set(packet.subarray(0, RTCP_HEADER_BYTES));
      writeUint32(aad, RTCP_HEADER_BYTES, eAndIndex);
      out.set(packet.subarray(0, RTCP_HEADER_BYTES));
      const iv = this.#rtcpGcm.rtcpIv(ssrc, index);
      this.#rtcpGcm.seal(iv, aad, packet.subarray(RTCP_HEADER_BYTES), out, RTCP_HEADER_BYTES);
      writeUint32(out, packet.length + tagBytes, eAndIndex);
    } else {
      out.set(packet);
      this.#rtcpKeystream!.apply(out, RTCP_HEADER_BYTES, packet.length, ssrc, index);
      writeUint32(out, packet.length, eAndIndex);
      const authenticatedEnd = packet.length + SRTCP_INDEX_BYTES;
      out.set(this.#rtcpHmac!.compute(out, authenticatedEnd).subarray(0, tagBytes), authenticatedEnd);
    }
    return out;
  }

  /** Releases the native ciphers. Any later call throws. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#rtpKeystream.close();
    this.#rtcpKeystream?.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("SrtpContext used after close()");
  }
}

/** Bytes of the RTP header (fixed part, CSRCs, extension), or -1 if not version 2 or running past `end`. */
function rtpHeaderBytes(packet: Uint8Array, end: number): number {
  const first = packet[0]!;
  if (first >>> 6 !== 2) return -1;
  let bytes = RTP_HEADER_BYTES + (first & 0x0f) * 4;
  if ((first & 0x10) !== 0) {
    if (bytes + 4 > end) return -1;
    bytes += 4 + ((packet[bytes + 2]! << 8) | packet[bytes + 3]!) * 4;
  }
  return bytes <= end ? bytes : -1;
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function writeUint32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = value >>> 16;
  bytes[at + 2] = value >>> 8;
  bytes[at + 3] = value;
}
