/**
 * Counter-mode keystream: RFC 3711 Appendix B.2, node's own AES-128-CTR for both layouts, RFC 7714 §16.1.1's
 * ciphertext, the batched SRTP cache, and xorInto.
 */

import assert from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import { bin, seededRandom, toHex } from "../shared/testing.ts";
import {
  AesCtrKeystream,
  KEYSTREAM_BATCH_PACKETS,
  MAX_BATCHED_PAYLOAD_BYTES,
  RtpKeystreamCache,
  xorInto,
} from "./aes_ctr.ts";

const SESSION_KEY = bin("2B7E151628AED2A6ABF7158809CF4F3C");
const SESSION_SALT = bin("F0F1F2F3F4F5F6F7F8F9FAFBFCFD");

/** Node's AES-128-CTR from the RFC 3711 IV of (ssrc, index): an independent reference for the counter blocks. */
function referenceKeystream(ssrc: number, index: number, bytes: number): Uint8Array {
  const iv = new Uint8Array(16);
  iv.set(SESSION_SALT);
  const view = new DataView(iv.buffer);
  view.setUint32(4, view.getUint32(4) ^ ssrc);
  view.setUint32(8, view.getUint32(8) ^ Math.floor(index / 0x10000));
  view.setUint16(12, view.getUint16(12) ^ (index % 0x10000));
  const ctr = createCipheriv("aes-128-ctr", SESSION_KEY, iv);
  const out = new Uint8Array(ctr.update(new Uint8Array(bytes)));
  ctr.final();
  return out;
}

Deno.test("keystream matches RFC 3711 B.2 (SSRC 0, index 0) at both ends of 0xff02 blocks", () => {
  const cipher = new AesCtrKeystream(SESSION_KEY, SESSION_SALT, "aesCm");
  const keystream = cipher.keystream(0, 0, 1, 0xff02);
  const block = (j: number) => toHex(keystream.subarray(j * 16, j * 16 + 16));
  assert.equal(block(0x0000), "e03ead0935c95e80e166b16dd92b4eb4");
  assert.equal(block(0x0001), "d23513162b02d0f72a43a2fe4a5f97ab");
  assert.equal(block(0x0002), "41e95b3bb0a2e8dd477901e4fca894c0");
  assert.equal(block(0xfeff), "ec8cdf7398607cb0f2d21675ea9ea1e4");
  assert.equal(block(0xff00), "362b7c3c6773516318a077d7fc5073ae");
  assert.equal(block(0xff01), "6a2cc3787889374fbeb4c81b17ba6c44");
  assert.throws(() => cipher.keystream(0, 0, 1, 0x10001), RangeError);
  cipher.close();
});

Deno.test("keystream of several packets equals AES-128-CTR from each packet's IV, across a rollover", () => {
  const cipher = new AesCtrKeystream(SESSION_KEY, SESSION_SALT, "aesCm");
  const ssrc = 0xcafebabe;
  const firstIndex = 3 * 0x10000 + 0xfffe;
  const keystream = cipher.keystream(ssrc, firstIndex, 4, 5);
  for (let packet = 0; packet < 4; packet++) {
    const expected = referenceKeystream(ssrc, firstIndex + packet, 80);
    assert.equal(toHex(keystream.subarray(packet * 80, packet * 80 + 80)), toHex(expected), `packet ${packet}`);
  }
  cipher.close();
});

Deno.test("apply XORs one packet's keystream onto a range in place", () => {
  const cipher = new AesCtrKeystream(SESSION_KEY, SESSION_SALT, "aesCm");
  const random = seededRandom(7);
  for (const bytes of [0, 1, 15, 16, 17, 100, 1088]) {
    const data = Uint8Array.from({ length: bytes + 20 }, () => Math.floor(random() * 256));
    const expected = data.slice();
    xorInto(expected, 12, referenceKeystream(0x1234, 77, bytes), 0, bytes);
    cipher.apply(data, 12, 12 + bytes, 0x1234, 77);
    assert.deepEqual(data, expected, `${bytes} bytes`);
  }
  cipher.close();
});

Deno.test("applyRtp serves in-order, reordered, late, growing and oversized payloads like apply", () => {
  const cached = new AesCtrKeystream(SESSION_KEY, SESSION_SALT, "aesCm");
  const direct = new AesCtrKeystream(SESSION_KEY, SESSION_SALT, "aesCm");
  const cache = new RtpKeystreamCache();
  const random = seededRandom(11);
  const ssrc = 0x11223344;
  // Index offsets from 0xfff0 (crossing the rollover) with payload sizes: a batch, a reorder, a late packet, a payload
  // longer than the batch holds, one beyond the batch, an oversized one, and one far ahead.
  const arrivals: [number, number][] = [
    [0, 40],
    [1, 40],
    [3, 35],
    [2, 40],
    [5, 200],
    [4, 12],
    [6, 1100],
    [KEYSTREAM_BATCH_PACKETS + 6, 1100],
    [KEYSTREAM_BATCH_PACKETS + 7, MAX_BATCHED_PAYLOAD_BYTES + 100],
    [KEYSTREAM_BATCH_PACKETS + 8, 0],
    [500, 1200],
  ];
  for (const [offset, bytes] of arrivals) {
    const index = 0xfff0 + offset;
    const data = Uint8Array.from({ length: bytes + 12 }, () => Math.floor(random() * 256));
    const expected = data.slice();
    direct.apply(expected, 12, 12 + bytes, ssrc, index);
    cached.applyRtp(cache, data, 12, 12 + bytes, ssrc, index);
    assert.deepEqual(data, expected, `offset ${offset}, ${bytes} bytes`);
  }
  assert.equal(cache.firstIndex, 0xfff0 + 500);
  assert.equal(cache.packets, KEYSTREAM_BATCH_PACKETS);
  assert.equal(cache.packetBytes, 1200);
  cached.close();
  direct.close();
});

Deno.test("the GCM layout is AES-128-CTR from IV || 00000002 (RFC 7714 §8.1) and gives §16.1.1's ciphertext", () => {
  const key = bin("000102030405060708090a0b0c0d0e0f");
  const salt = bin("517569642070726f2071756f");
  const keystream = new AesCtrKeystream(key, salt, "gcm");
  const counter = bin("51753c6580c2726f20718414 00000002");
  const ctr = createCipheriv("aes-128-ctr", key, counter);
  const reference = new Uint8Array(ctr.update(new Uint8Array(64)));
  ctr.final();
  assert.equal(toHex(keystream.keystream(0x5501a0b2, 0xf17b, 1, 4)), toHex(reference));

  const packet = bin(
    "8040f17b8041f8d35501a0b2 47616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573",
  );
  keystream.applyRtp(new RtpKeystreamCache(), packet, 12, packet.length, 0x5501a0b2, 0xf17b);
  assert.equal(
    toHex(packet.subarray(12)),
    "f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833",
  );
  // Rollover counter 1: bytes 6-9 of the IV.
  const rolledOver = bin("51753c6580c2726f20708414 00000002");
  const ctr1 = createCipheriv("aes-128-ctr", key, rolledOver);
  const reference1 = new Uint8Array(ctr1.update(new Uint8Array(32)));
  ctr1.final();
  assert.equal(toHex(keystream.keystream(0x5501a0b2, 0x1f17b, 1, 2)), toHex(reference1));
  keystream.close();
});

Deno.test("AesCtrKeystream refuses a salt of the wrong length for its layout", () => {
  assert.throws(() => new AesCtrKeystream(SESSION_KEY, new Uint8Array(12), "aesCm"), RangeError);
  assert.throws(() => new AesCtrKeystream(SESSION_KEY, new Uint8Array(14), "gcm"), RangeError);
});

Deno.test("xorInto gives the same bytes on aligned and unaligned views", () => {
  const random = seededRandom(3);
  const backing = Uint8Array.from({ length: 512 }, () => Math.floor(random() * 256));
  const source = Uint8Array.from({ length: 300 }, () => Math.floor(random() * 256));
  for (const [targetStart, sourceStart, bytes] of [[0, 0, 256], [4, 8, 201], [1, 0, 256], [3, 5, 70], [0, 0, 10]]) {
    const target = backing.slice();
    const expected = backing.slice();
    for (let i = 0; i < bytes!; i++) expected[targetStart! + i]! ^= source[sourceStart! + i]!;
    xorInto(target, targetStart!, source, sourceStart!, bytes!);
    assert.deepEqual(target, expected);
  }
});
