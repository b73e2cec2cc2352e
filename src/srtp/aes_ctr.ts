/**
 * AES-128 counter-mode keystream for SRTP: AES-CM (RFC 3711 §4.1.1: block j of packet index i is AES(k_e, IV + j),
 * IV = (k_s · 2^16) XOR (SSRC · 2^64) XOR (i · 2^16)) and the counter mode inside GCM for SRTP (RFC 7714 §8.1 IV, data
 * blocks from counter 2, NIST SP 800-38D §7.1). One AES-128-ECB cipher per session key encrypts a buffer of counter
 * blocks: node:crypto cannot restart a CTR cipher at another IV, and in Deno 2.9 a CTR cipher per packet costs more
 * and leaks about 1 KB of native memory unless `final()` is called. Counter blocks depend on the SSRC and index only,
 * so an SRTP stream's keystream is generated for `KEYSTREAM_BATCH_PACKETS` indices in one call (`RtpKeystreamCache`):
 * for a 1088-byte payload in Deno 2.9.6, 1.1 µs per packet, against 13 µs for an ECB call per packet and 21 µs for a
 * CTR cipher per packet (srtp_bench.ts).
 */

import { type Cipheriv, createCipheriv } from "node:crypto";

const BLOCK_BYTES = 16;
/** AES-CM's block counter is the low 16 bits of the counter block, so a packet has at most 2^16 blocks. */
const MAX_BLOCKS_PER_PACKET = 0x10000;
/** Indices whose keystream an SRTP stream generates in one go. */
export const KEYSTREAM_BATCH_PACKETS = 32;
/** Payloads longer than this (more than a 1500-byte MTU carries) get a keystream of their own, uncached. */
export const MAX_BATCHED_PAYLOAD_BYTES = 1536;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Counter block layout: `aesCm` for AES-CM (SRTP and SRTCP, with a 14-byte salt), `gcm` for GCM's data blocks of an
 * SRTP packet (12-byte salt; SRTCP's GCM IV is laid out differently and is not generated here).
 */
export type CounterLayout = "aesCm" | "gcm";

/** Keystream generated ahead for one SRTP stream: `packets` packets from `firstIndex`, `packetBytes` bytes each. */
export class RtpKeystreamCache {
  firstIndex = 0;
  packets = 0;
  packetBytes = 0;
  keystream: Uint8Array = new Uint8Array(0);
}

/** The keystream of one session key and salt. Call `close()` to release the native cipher. */
export class AesCtrKeystream {
  readonly #ecb: Cipheriv;
  readonly #salt: Uint8Array;
  readonly #layout: CounterLayout;
  /** The counter block of a packet before the block counter is added, as bytes and as native-order words. */
  readonly #iv = new Uint8Array(BLOCK_BYTES);
  readonly #ivView = new DataView(this.#iv.buffer);
  readonly #ivWords = new Int32Array(this.#iv.buffer);
  #counterWords = new Int32Array(0);

  /** `sessionKey` is k_e (16 bytes), `sessionSalt` k_s (14 bytes for `aesCm`, 12 for `gcm`). */
  constructor(sessionKey: Uint8Array, sessionSalt: Uint8Array, layout: CounterLayout) {
    const saltBytes = layout === "aesCm" ? 14 : 12;
    if (sessionSalt.length !== saltBytes) throw new RangeError(`${layout} session salt of ${sessionSalt.length} bytes`);
    this.#salt = Uint8Array.from(sessionSalt);
    this.#layout = layout;
    this.#ecb = createCipheriv("aes-128-ecb", sessionKey, null);
    this.#ecb.setAutoPadding(false);
  }

  /**
   * Keystream of `blocksPerPacket` blocks for each of the `packets` indices from `firstIndex` of `ssrc` (an SRTP packet
   * index ROC · 2^16 + SEQ, or for `aesCm` an SRTCP index), packet p's at byte p · blocksPerPacket · 16. A new buffer.
   */
  keystream(ssrc: number, firstIndex: number, packets: number, blocksPerPacket: number): Uint8Array {
    if (blocksPerPacket > MAX_BLOCKS_PER_PACKET) throw new RangeError(`${blocksPerPacket} AES blocks in a packet`);
    const words = packets * blocksPerPacket * 4;
    if (this.#counterWords.length < words) this.#counterWords = new Int32Array(words);
    const counter = this.#counterWords;
    const ivWords = this.#ivWords;
    const firstCounter = this.#layout === "aesCm" ? 0 : 2;
    for (let packet = 0; packet < packets; packet++) {
      this.#writeIv(ssrc, firstIndex + packet);
      const w0 = ivWords[0]!, w1 = ivWords[1]!, w2 = ivWords[2]!, w3 = ivWords[3]!;
      let at = packet * blocksPerPacket * 4;
      for (let block = 0; block < blocksPerPacket; block++, at += 4) {
        counter[at] = w0;
        counter[at + 1] = w1;
        counter[at + 2] = w2;
        // The IV's last two (AES-CM) or four (GCM) bytes are zero: the big-endian block counter goes there.
        counter[at + 3] = w3 | bigEndianWord(block + firstCounter);
      }
    }
    return this.#ecb.update(new Uint8Array(counter.buffer, 0, words * 4));
  }

  /** The counter block of block 0 of `index`, without the block counter. */
  #writeIv(ssrc: number, index: number): void {
    const view = this.#ivView;
    const rolloverCounter = Math.floor(index / 0x10000);
    const sequenceNumber = index % 0x10000;
    if (this.#layout === "aesCm") {
      // (k_s · 2^16) XOR (SSRC · 2^64) XOR (index · 2^16): SSRC in bytes 4-7, the 48-bit index in bytes 8-13.
      this.#iv.set(this.#salt);
      view.setUint32(4, view.getUint32(4) ^ ssrc);
      view.setUint32(8, view.getUint32(8) ^ rolloverCounter);
      view.setUint16(12, view.getUint16(12) ^ sequenceNumber);
      view.setUint16(14, 0);
    } else {
      // (00 00 || SSRC || ROC || SEQ) XOR k_s, then a 32-bit block counter.
      view.setUint16(0, 0);
      view.setUint32(2, ssrc);
      view.setUint32(6, rolloverCounter);
      view.setUint16(10, sequenceNumber);
      view.setUint32(12, 0);
      for (let i = 0; i < 12; i++) this.#iv[i]! ^= this.#salt[i]!;
    }
  }

  /** XORs the keystream of `index` of `ssrc` onto `bytes[start, end)`: encrypts or decrypts in place. */
  apply(bytes: Uint8Array, start: number, end: number, ssrc: number, index: number): void {
    if (end <= start) return;
    const keystream = this.keystream(ssrc, index, 1, Math.ceil((end - start) / BLOCK_BYTES));
    xorInto(bytes, start, keystream, 0, end - start);
  }

  /**
   * As `apply` for an SRTP payload, with keystream from `cache`: a miss ahead of it (or a payload longer than it holds)
   * regenerates it for `KEYSTREAM_BATCH_PACKETS` indices from `index`; a packet older than it gets its own keystream.
   */
  applyRtp(cache: RtpKeystreamCache, bytes: Uint8Array, start: number, end: number, ssrc: number, index: number): void {
    const payloadBytes = end - start;
    if (payloadBytes <= 0) return;
    let slot = index - cache.firstIndex;
    if (slot < 0 || slot >= cache.packets || payloadBytes > cache.packetBytes) {
      if ((slot < 0 && cache.packets > 0) || payloadBytes > MAX_BATCHED_PAYLOAD_BYTES) {
        this.apply(bytes, start, end, ssrc, index);
        return;
      }
      const blocksPerPacket = Math.ceil(Math.max(payloadBytes, cache.packetBytes) / BLOCK_BYTES);
      cache.keystream = this.keystream(ssrc, index, KEYSTREAM_BATCH_PACKETS, blocksPerPacket);
      cache.firstIndex = index;
      cache.packets = KEYSTREAM_BATCH_PACKETS;
      cache.packetBytes = blocksPerPacket * BLOCK_BYTES;
      slot = 0;
    }
    xorInto(bytes, start, cache.keystream, slot * cache.packetBytes, payloadBytes);
  }

  /** Releases the native cipher; the keystream is unusable afterwards. */
  close(): void {
    this.#ecb.final();
  }
}

/** The native-order 32-bit word whose bytes in memory are `value` big-endian. */
function bigEndianWord(value: number): number {
  return LITTLE_ENDIAN
    ? ((value & 0xff) << 24) | ((value & 0xff00) << 8) | ((value >>> 8) & 0xff00) | (value >>> 24)
    : value;
}

/** `target[targetStart, +bytes) ^= source[sourceStart, +bytes)`, a word at a time where both are 4-byte aligned. */
export function xorInto(
  target: Uint8Array,
  targetStart: number,
  source: Uint8Array,
  sourceStart: number,
  bytes: number,
): void {
  let done = 0;
  const targetOffset = target.byteOffset + targetStart;
  const sourceOffset = source.byteOffset + sourceStart;
  if (((targetOffset | sourceOffset) & 3) === 0 && bytes >= 64) {
    const words = bytes >>> 2;
    const targetWords = new Int32Array(target.buffer, targetOffset, words);
    const sourceWords = new Int32Array(source.buffer, sourceOffset, words);
    for (let i = 0; i < words; i++) targetWords[i] = targetWords[i]! ^ sourceWords[i]!;
    done = words * 4;
  }
  for (let i = done; i < bytes; i++) target[targetStart + i]! ^= source[sourceStart + i]!;
}
