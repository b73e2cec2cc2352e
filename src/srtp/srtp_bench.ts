/**
 * Micro-benchmark: µs to unprotect one 1100-byte RTP packet (12-byte header, 1088-byte payload, protected by werift),
 * this module against werift 0.25.2 and libsrtp (libsrtp.ts, where installed), for AES128_CM_HMAC_SHA1_80 and
 * AEAD_AES_128_GCM; then the node:crypto alternatives behind the choices of hmac_sha1.ts, aes_ctr.ts and aes_gcm.ts.
 * Medians of several rounds over distinct packets (the replay window refuses repeats). Run: `deno run --allow-all
 * src/srtp/srtp_bench.ts` (or `bun src/srtp/srtp_bench.ts`).
 */

import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto";
import { RtpHeader, SrtpSession } from "werift";
import { AesCtrKeystream, RtpKeystreamCache } from "./aes_ctr.ts";
import { AesGcmCipher } from "./aes_gcm.ts";
import { HmacSha1 } from "./hmac_sha1.ts";
import { createSrtpContext, SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80 } from "./mod.ts";
import { openLibsrtp, type SrtpReceiver } from "./libsrtp.ts";

const libsrtp = await openLibsrtp();

const PACKETS = 10_000;
const WARM_UP_ROUNDS = 2;
const ROUNDS = 7;
const PAYLOAD_BYTES = 1088;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median µs per call of `run(i)` for i in [0, calls), with `prepare()` (untimed) before each round. */
function measure(calls: number, prepare: () => void, run: (i: number) => void): number {
  const rounds: number[] = [];
  for (let round = 0; round < WARM_UP_ROUNDS + ROUNDS; round++) {
    prepare();
    const start = performance.now();
    for (let i = 0; i < calls; i++) run(i);
    if (round >= WARM_UP_ROUNDS) rounds.push(((performance.now() - start) * 1000) / calls);
  }
  return median(rounds);
}

/** Copies of `packets` to unprotect in place, refilled (not reallocated, to keep the collector out) per round. */
function copier(packets: readonly Uint8Array[]): { copies: Buffer[]; refill: () => void } {
  const copies = packets.map((packet) => Buffer.from(packet));
  return { copies, refill: () => packets.forEach((packet, i) => copies[i]!.set(packet)) };
}

function compareUnprotect(name: string, profile: 1 | 7, saltBytes: number): void {
  const key = randomBytes(16);
  const salt = randomBytes(saltBytes);
  const session = new SrtpSession({
    keys: { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt },
    profile,
  });
  const payload = randomBytes(PAYLOAD_BYTES);
  const protectedPackets = Array.from({ length: PACKETS }, (_, i) => {
    const header = new RtpHeader({
      sequenceNumber: (60_000 + i) % 0x10000,
      timestamp: i * 3000,
      ssrc: 0x1234,
      payloadType: 96,
    });
    return session.encrypt(payload, header);
  });

  const { copies, refill } = copier(protectedPackets);
  let context = createSrtpContext(profile, key, salt);
  const ours = measure(PACKETS, () => {
    if ("close" in context) context.close();
    context = createSrtpContext(profile, key, salt);
    refill();
  }, (i) => {
    if ("reason" in context) throw new Error(context.message);
    const plain = context.unprotectRtp(copies[i]!);
    if (!(plain instanceof Uint8Array)) throw new Error(plain.message);
  });
  if ("close" in context) context.close();

  let receiver = session;
  const werift = measure(PACKETS, () => {
    receiver = new SrtpSession(session.config);
    refill();
  }, (i) => {
    receiver.decrypt(copies[i]!);
  });
  let native = "not installed";
  if (libsrtp !== undefined) {
    let session: SrtpReceiver | undefined;
    const perPacket = measure(PACKETS, () => {
      session?.close();
      const made = libsrtp.receiver(profile, key, salt);
      if ("reason" in made) throw new Error(made.message);
      session = made;
      refill();
    }, (i) => {
      const plain = session!.unprotectRtp(copies[i]!);
      if (!(plain instanceof Uint8Array)) throw new Error(plain.message);
    });
    session?.close();
    native = `${perPacket.toFixed(2).padStart(6)} µs`;
  }
  console.log(
    `${name.padEnd(24)} ours ${ours.toFixed(2).padStart(6)} µs   werift ${werift.toFixed(2).padStart(6)} µs   ` +
      `libsrtp ${libsrtp?.version ?? ""} ${native}`,
  );
}

function compareHmac(): void {
  const key = randomBytes(20);
  const message = randomBytes(12 + PAYLOAD_BYTES);
  const roc = Buffer.alloc(4);
  const ours = new HmacSha1(key);
  const innerPad = Buffer.alloc(64, 0x36);
  const outerPad = Buffer.alloc(64, 0x5c);
  for (let i = 0; i < key.length; i++) {
    innerPad[i]! ^= key[i]!;
    outerPad[i]! ^= key[i]!;
  }
  const inner = createHash("sha1").update(innerPad);
  const outer = createHash("sha1").update(outerPad);
  const calls = 20_000;
  const none = () => {};
  const perPacket = measure(calls, none, () => createHmac("sha1", key).update(message).update(roc).digest());
  const copied = measure(
    calls,
    none,
    () => outer.copy().update(inner.copy().update(message).update(roc).digest()).digest(),
  );
  const plainTs = measure(calls, none, () => ours.compute(message, message.length, 0));
  console.log(
    `HMAC-SHA1 of 1100 B       createHmac ${perPacket.toFixed(2)} µs, createHash pad copies ${copied.toFixed(2)} µs, ` +
      `HmacSha1 ${plainTs.toFixed(2)} µs`,
  );
}

function compareKeystream(): void {
  const key = randomBytes(16);
  const salt = randomBytes(14);
  const iv = Buffer.alloc(16);
  const payload = new Uint8Array(PAYLOAD_BYTES);
  const cipher = new AesCtrKeystream(key, salt, "aesCm");
  const calls = 20_000;
  let cache = new RtpKeystreamCache();
  const none = () => {};
  const ctr = measure(calls, none, () => {
    const perPacket = createCipheriv("aes-128-ctr", key, iv);
    payload.set(perPacket.update(payload));
    perPacket.final();
  });
  const ecb = measure(calls, none, (i) => cipher.apply(payload, 0, PAYLOAD_BYTES, 0x1234, i));
  const batched = measure(calls, () => (cache = new RtpKeystreamCache()), (i) => {
    cipher.applyRtp(cache, payload, 0, PAYLOAD_BYTES, 0x1234, i);
  });
  cipher.close();
  console.log(
    `AES-CM of 1088 B          CTR cipher per packet ${ctr.toFixed(2)} µs, ECB per packet ${ecb.toFixed(2)} µs, ` +
      `ECB per 32 packets ${batched.toFixed(2)} µs`,
  );
}

function compareGcm(): void {
  const key = randomBytes(16);
  const salt = randomBytes(12);
  const header = randomBytes(12);
  const gcm = new AesGcmCipher(key, salt);
  const keystream = new AesCtrKeystream(key, salt, "gcm");
  const packets = Array.from({ length: 20_000 }, (_, i) => {
    const sealed = new Uint8Array(PAYLOAD_BYTES + 16);
    gcm.seal(gcm.rtpIv(0x1234, 0, i).slice(), header, randomBytes(PAYLOAD_BYTES), sealed, 0);
    return sealed;
  });
  let cache = new RtpKeystreamCache();
  const { copies, refill } = copier(packets);
  const none = () => {};
  const decipher = measure(packets.length, none, (i) => {
    const packet = packets[i]!;
    const perPacket = createDecipheriv("aes-128-gcm", key, gcm.rtpIv(0x1234, 0, i));
    perPacket.setAAD(header);
    perPacket.setAuthTag(packet.subarray(PAYLOAD_BYTES));
    perPacket.update(packet.subarray(0, PAYLOAD_BYTES));
    perPacket.final();
  });
  const split = measure(packets.length, () => {
    cache = new RtpKeystreamCache();
    refill();
  }, (i) => {
    const packet = copies[i]!;
    const ciphertext = packet.subarray(0, PAYLOAD_BYTES);
    if (!gcm.tagMatches(gcm.rtpIv(0x1234, 0, i), header, ciphertext, packet.subarray(PAYLOAD_BYTES))) {
      throw new Error("tag mismatch");
    }
    keystream.applyRtp(cache, packet, 0, PAYLOAD_BYTES, 0x1234, i);
  });
  keystream.close();
  console.log(
    `AES-GCM of 1088 B         GCM decipher per packet ${decipher.toFixed(2)} µs, ` +
      `GMAC tag check and ECB per 32 packets ${split.toFixed(2)} µs`,
  );
}

console.log(`unprotectRtp, µs per 1100-byte RTP packet (median of ${ROUNDS} rounds of ${PACKETS} packets)`);
compareUnprotect("AES128_CM_HMAC_SHA1_80", SRTP_AES128_CM_HMAC_SHA1_80, 14);
compareUnprotect("AEAD_AES_128_GCM", SRTP_AEAD_AES_128_GCM, 12);
console.log("node:crypto alternatives, µs per packet");
compareHmac();
compareKeystream();
compareGcm();
