/**
 * Chunk stream: every header type from hand-built bytes, extended timestamps (type 3 included), the 32-bit wrap,
 * the three basic header forms, Set Chunk Size and Abort mid-stream, interleaving, splits at every byte, limits and
 * malformed input; the writer's golden bytes and a writer-to-reader round trip.
 */

import assert from "node:assert/strict";
import {
  basicHeader,
  ChunkReader,
  ChunkWriter,
  MAX_CHUNK_SIZE_BYTES,
  MAX_CHUNK_STREAM_ID,
  MAX_MESSAGE_SIZE_BYTES,
} from "./chunk_stream.ts";
import { RtmpProtocolError } from "./errors.ts";
import type { RtmpMessage } from "./messages.ts";
import { bin, concat, randomBytes, randomInt, seededRandom, toHex } from "../../shared/testing.ts";

/** Messages as comparable plain values, payload in hex. */
function plain(messages: readonly RtmpMessage[]) {
  return messages.map((m) => ({ ...m, payload: toHex(m.payload) }));
}

function msg(chunkStreamId: number, typeId: number, streamId: number, timestampMs: number, payload: string) {
  return { chunkStreamId, typeId, streamId, timestampMs, payload: toHex(bin(payload)) };
}

const fill = (length: number, byte: number) => new Uint8Array(length).fill(byte);

Deno.test("ChunkReader reads header types 0, 1, 2 and 3 with timestamp deltas", () => {
  const reader = new ChunkReader();
  const bytes = bin(
    "03 0003e8 000005 14 00000000 'hello'" + // type 0: ts 1000, length 5, command, stream 0
      "43 000014 000003 12 'abc'" + // type 1: delta 20, length 3, data message
      "83 00000a 'xyz'" + // type 2: delta 10
      "c3 'uvw'", // type 3 starting a message: delta 10 again
  );
  assert.deepEqual(plain(reader.readAll(bytes)), [
    msg(3, 20, 0, 1000, "'hello'"),
    msg(3, 18, 0, 1020, "'abc'"),
    msg(3, 18, 0, 1030, "'xyz'"),
    msg(3, 18, 0, 1040, "'uvw'"),
  ]);
});

Deno.test("ChunkReader: a type 3 message after a type 0 adds the type 0 timestamp field, as FFmpeg writes", () => {
  const reader = new ChunkReader();
  const bytes = bin("04 000028 000001 08 01000000 aa  c4 bb  c4 cc"); // stream id 1, little-endian
  assert.deepEqual(plain(reader.readAll(bytes)), [
    msg(4, 8, 1, 40, "aa"),
    msg(4, 8, 1, 80, "bb"),
    msg(4, 8, 1, 120, "cc"),
  ]);
});

Deno.test("ChunkReader hands out a one-chunk message as a view of its input, and copies one of several chunks", () => {
  const input = bin("06 000000 000003 09 01000000 'abc'  06 000000 000082 09 01000000");
  const reader = new ChunkReader();
  const [single] = reader.readAll(input);
  assert.equal(single?.payload.buffer, input.buffer);
  assert.equal(single?.payload.byteOffset, 12);
  const split = concat([fill(128, 1), bin("c6"), fill(2, 2)]);
  const [joined] = reader.readAll(split);
  assert.notEqual(joined?.payload.buffer, split.buffer);
  assert.deepEqual(joined?.payload, concat([fill(128, 1), fill(2, 2)]));
});

Deno.test("ChunkReader reassembles a message over chunks of the default 128 bytes", () => {
  const payload = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  const bytes = concat([
    bin("06 000000 00012c 09 01000000"),
    payload.subarray(0, 128),
    bin("c6"),
    payload.subarray(128, 256),
    bin("c6"),
    payload.subarray(256),
  ]);
  const [message, ...rest] = new ChunkReader().readAll(bytes);
  assert.deepEqual(rest, []);
  assert.deepEqual(message?.payload, payload);
  assert.equal(message?.typeId, 9);
});

Deno.test("ChunkReader reads extended timestamps in type 0 headers and in every type 3 continuation", () => {
  const payload = fill(200, 7);
  const bytes = concat([
    bin("06 ffffff 0000c8 09 01000000 01000000"), // ts field 0xFFFFFF: extended 0x01000000 follows
    payload.subarray(0, 128),
    bin("c6 01000000"), // the continuation repeats the extended timestamp
    payload.subarray(128),
  ]);
  const messages = new ChunkReader().readAll(bytes);
  assert.equal(messages.length, 1);
  assert.equal(messages[0]!.timestampMs, 0x0100_0000);
  assert.deepEqual(messages[0]!.payload, payload);
});

Deno.test("ChunkReader: a type 3 header after an extended delta carries the delta again and starts a message", () => {
  const bytes = bin(
    "05 000064 000001 09 01000000 aa" + // ts 100
      "45 ffffff 000001 09 01000000 bb" + // type 1, extended delta 0x01000000
      "c5 01000000 cc", // type 3 new message: extended field present, delta again
  );
  assert.deepEqual(plain(new ChunkReader().readAll(bytes)), [
    msg(5, 9, 1, 100, "aa"),
    msg(5, 9, 1, 100 + 0x0100_0000, "bb"),
    msg(5, 9, 1, 100 + 0x0200_0000, "cc"),
  ]);
});

Deno.test("ChunkReader wraps timestamps modulo 2^32", () => {
  const bytes = bin("05 ffffff 000001 08 01000000 fffffff0 aa  85 000020 bb");
  const messages = new ChunkReader().readAll(bytes);
  assert.deepEqual(messages.map((m) => m.timestampMs), [0xffff_fff0, 0x10]);
});

Deno.test("ChunkReader reads 1-, 2- and 3-byte basic headers (chunk streams 2 to 65599)", () => {
  const cases: [string, number][] = [
    ["3f", 63],
    ["00 00", 64],
    ["00 ff", 319],
    ["01 00 01", 320],
    ["01 ff ff", MAX_CHUNK_STREAM_ID],
    ["01 34 12", 64 + 0x1234],
  ];
  for (const [header, chunkStreamId] of cases) {
    const [message] = new ChunkReader().readAll(bin(`${header} 000001 000001 08 00000000 aa`));
    assert.equal(message?.chunkStreamId, chunkStreamId, header);
    assert.equal(toHex(basicHeader(0, chunkStreamId)), toHex(bin(header)));
  }
});

Deno.test("ChunkReader hands out a zero-length message at once", () => {
  assert.deepEqual(plain(new ChunkReader().readAll(bin("03 000000 000000 14 00000000"))), [msg(3, 20, 0, 0, "")]);
});

Deno.test("ChunkReader applies Set Chunk Size to the chunks after it", () => {
  const payload = fill(300, 1);
  const reader = new ChunkReader();
  const bytes = concat([
    bin("02 000000 000004 01 00000000 00001000"), // Set Chunk Size 4096
    bin("06 000000 00012c 09 01000000"),
    payload, // one chunk now
  ]);
  const messages = reader.readAll(bytes);
  assert.deepEqual(messages.map((m) => m.typeId), [1, 9]);
  assert.equal(reader.chunkSizeBytes, 4096);
  assert.deepEqual(messages[1]!.payload, payload);
});

Deno.test("ChunkReader takes a chunk size of 0x7FFFFFFF: a 1 MiB message in one chunk, arriving in pieces", () => {
  const payload = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7) & 0xff);
  const reader = new ChunkReader();
  const bytes = concat([bin("02 000000 000004 01 00000000 7fffffff 06 000000 100000 09 01000000"), payload]);
  const messages: RtmpMessage[] = [];
  for (let start = 0; start < bytes.length; start += 65_536) {
    messages.push(...reader.readAll(bytes.subarray(start, start + 65_536)));
  }
  assert.equal(reader.chunkSizeBytes, MAX_CHUNK_SIZE_BYTES);
  assert.equal(messages.length, 2);
  assert.deepEqual(messages[1]!.payload, payload);
});

Deno.test("ChunkReader reassembles interleaved chunk streams independently", () => {
  const video = fill(200, 0x76);
  const bytes = concat([
    bin("06 000000 0000c8 09 01000000"),
    video.subarray(0, 128),
    bin("04 000000 000002 08 01000000 aaaa"), // a whole audio message between two video chunks
    bin("c6"),
    video.subarray(128),
  ]);
  const messages = new ChunkReader().readAll(bytes);
  assert.deepEqual(messages.map((m) => [m.chunkStreamId, m.typeId, m.payload.length]), [[4, 8, 2], [6, 9, 200]]);
  assert.deepEqual(messages[1]!.payload, video);
});

Deno.test("ChunkReader drops the partial message of the chunk stream an Abort names", () => {
  const reader = new ChunkReader();
  const bytes = concat([
    bin("06 000000 0000c8 09 01000000"),
    fill(128, 1), // 128 of 200 bytes
    bin("02 000000 000004 02 00000000 00000006"), // Abort chunk stream 6
    bin("06 000000 000001 09 01000000 ee"), // a type 0 header is fine again
  ]);
  assert.deepEqual(plain(reader.readAll(bytes)), [msg(2, 2, 0, 0, "00000006"), msg(6, 9, 1, 0, "ee")]);
  assert.equal(reader.pendingBytes, 0);
});

/** A stream exercising every feature above, for split and truncation tests. */
const MIXED = concat([
  bin("03 0003e8 000005 14 00000000 'hello' 43 000014 000003 12 'abc' 83 00000a 'xyz' c3 'uvw'"),
  bin("06 ffffff 0000c8 09 01000000 01000000"),
  fill(128, 2),
  bin("04 000000 000002 08 01000000 aaaa"),
  bin("c6 01000000"),
  fill(72, 3),
  bin("01 00 01 000000 000001 08 01000000 bb"),
  bin("02 000000 000004 01 00000000 00000010"), // chunk size 16
  bin("44 000015 000028 08"),
  fill(16, 4),
  bin("c4"),
  fill(16, 5),
  bin("c4"),
  fill(8, 6),
  bin("c4 'tail'"), // type 3 new message: 40 bytes again
  fill(12, 7),
  bin("c4"),
  fill(16, 8),
  bin("c4"),
  fill(8, 9),
  bin("00 00 000000 000000 14 00000000"), // empty message on chunk stream 64
]);

Deno.test("ChunkReader gives the same messages for the mixed stream split at every byte boundary", () => {
  const whole = plain(new ChunkReader().readAll(MIXED));
  assert.equal(whole.length, 11);
  for (let split = 0; split <= MIXED.length; split++) {
    const reader = new ChunkReader();
    const messages = [...reader.readAll(MIXED.subarray(0, split)), ...reader.readAll(MIXED.subarray(split))];
    assert.deepEqual(plain(messages), whole, `split at ${split}`);
  }
  const reader = new ChunkReader();
  assert.deepEqual(plain(Array.from(MIXED, (byte) => reader.readAll(Uint8Array.of(byte))).flat()), whole);
});

Deno.test("ChunkReader on any truncation of a valid stream yields a prefix of its messages and never throws", () => {
  const whole = plain(new ChunkReader().readAll(MIXED));
  const random = seededRandom(17);
  for (let end = 0; end <= MIXED.length; end++) {
    const reader = new ChunkReader();
    const messages: RtmpMessage[] = [];
    for (let start = 0; start < end;) {
      const next = Math.min(end, start + randomInt(random, 1, 40));
      messages.push(...reader.readAll(MIXED.subarray(start, next)));
      start = next;
    }
    assert.deepEqual(plain(messages), whole.slice(0, messages.length), `truncated at ${end}`);
  }
});

Deno.test("ChunkReader refuses malformed chunk streams with RtmpProtocolError naming the fault", () => {
  const cases: [string, string, RegExp, number?][] = [
    ["first header not type 0", "43 000000 000001 08 aa", /chunk stream 3 starts with a type 1 header/],
    [
      "type 0 in the middle of a message",
      "06 000000 0000c8 09 01000000 " + "00".repeat(128) + "06 000000 000001 09 01000000",
      /type 0 header arrived with 128 of 200/,
    ],
    ["message over the cap", "03 000000 0003e9 09 01000000", /1001 bytes .* larger than the 1000-byte limit/, 1000],
    ["chunk size 0", "02 000000 000004 01 00000000 00000000", /Set Chunk Size of 0 bytes/],
    ["chunk size with the top bit", "02 000000 000004 01 00000000 80000000", /Set Chunk Size of 2147483648/],
    ["short Set Chunk Size", "02 000000 000002 01 00000000 0001", /Set Chunk Size message of 2 bytes/],
    ["short Abort", "02 000000 000001 02 00000000 06", /Abort message of 1 bytes/],
  ];
  for (const [name, bytes, message, maxMessageSizeBytes] of cases) {
    const reader = new ChunkReader(maxMessageSizeBytes === undefined ? {} : { maxMessageSizeBytes });
    assert.throws(() => reader.readAll(bin(bytes)), { name: "RtmpProtocolError", message }, name);
    assert.throws(() => reader.read(), { name: "RtmpProtocolError", message }, `${name}: stays failed`);
    assert.throws(() => reader.push(bin("00")), RtmpProtocolError, `${name}: push after failure`);
  }
});

Deno.test("ChunkReader bounds memory by bytes received, not lengths announced", () => {
  // A header announcing 16 MiB - 1 costs what arrived: one byte...
  const reader = new ChunkReader();
  reader.readAll(bin("06 000000 ffffff 09 01000000 aa"));
  assert.equal(reader.pendingBytes, 1);
  // ...and what partial messages hold over all chunk streams is capped.
  const capped = new ChunkReader({ maxPendingBytes: 1000 });
  const chunks = Array.from(
    { length: 20 },
    (_, i) => concat([basicHeader(0, 10 + i), bin("000000 000100 09 01000000"), fill(128, 0)]),
  );
  assert.throws(() => capped.readAll(concat(chunks)), { name: "RtmpProtocolError", message: /more than 1000 bytes/ });
});

Deno.test("ChunkReader on random bytes throws nothing but RtmpProtocolError and always returns", () => {
  const random = seededRandom(0xc4);
  for (let i = 0; i < 5_000; i++) {
    const reader = new ChunkReader({ maxMessageSizeBytes: 4096 });
    // Half the cases start from a valid prefix so that the parser gets deep before the garbage.
    const prefix = i % 2 === 0 ? MIXED.subarray(0, randomInt(random, 0, MIXED.length)) : new Uint8Array(0);
    const bytes = concat([prefix, randomBytes(random, randomInt(random, 0, 300))]);
    try {
      for (let start = 0; start < bytes.length;) {
        const next = start + randomInt(random, 1, 50);
        reader.readAll(bytes.subarray(start, next));
        start = next;
      }
    } catch (error) {
      if (!(error instanceof RtmpProtocolError)) throw new Error(`${toHex(bytes)} threw ${error}`);
    }
  }
});

Deno.test("ChunkWriter writes a type 0 chunk then type 3 chunks (golden bytes)", () => {
  const writer = new ChunkWriter();
  const payload = fill(130, 0xab);
  const bytes = writer.write({ chunkStreamId: 3, typeId: 20, streamId: 1, timestampMs: 1000, payload });
  assert.equal(
    toHex(bytes),
    toHex(concat([bin("03 0003e8 000082 14 01000000"), payload.subarray(0, 128), bin("c3"), payload.subarray(128)])),
  );
  writer.setChunkSize(4096);
  const one = writer.write({ chunkStreamId: 320, typeId: 8, streamId: 0, timestampMs: 0, payload });
  assert.equal(toHex(one), toHex(concat([bin("01 00 01 000000 000082 08 00000000"), payload])));
});

Deno.test("ChunkWriter puts an extended timestamp in every chunk of a message at or past 0xFFFFFF", () => {
  const writer = new ChunkWriter();
  writer.setChunkSize(2);
  const bytes = writer.write({
    chunkStreamId: 4,
    typeId: 9,
    streamId: 1,
    timestampMs: 0xffffff,
    payload: bin("aabbcc"),
  });
  assert.equal(toHex(bytes), toHex(bin("04 ffffff 000003 09 01000000 00ffffff aabb c4 00ffffff cc")));
});

Deno.test("ChunkWriter refuses chunk stream ids, chunk sizes and message sizes out of range", () => {
  const writer = new ChunkWriter();
  const message = { chunkStreamId: 1, typeId: 8, streamId: 0, timestampMs: 0, payload: new Uint8Array(0) };
  assert.throws(() => writer.write(message), RangeError);
  assert.throws(() => writer.write({ ...message, chunkStreamId: MAX_CHUNK_STREAM_ID + 1 }), RangeError);
  assert.throws(
    () => writer.write({ ...message, chunkStreamId: 3, payload: new Uint8Array(MAX_MESSAGE_SIZE_BYTES + 1) }),
    RangeError,
  );
  assert.throws(() => writer.setChunkSize(0), RangeError);
  assert.throws(() => writer.setChunkSize(MAX_CHUNK_SIZE_BYTES + 1), RangeError);
});

Deno.test("ChunkWriter output reads back through ChunkReader for random messages, chunk sizes and splits", () => {
  const random = seededRandom(99);
  for (let round = 0; round < 200; round++) {
    const writer = new ChunkWriter();
    const reader = new ChunkReader();
    const sent: RtmpMessage[] = [];
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 10; i++) {
      if (random() < 0.2) {
        const sizeBytes = randomInt(random, 1, 600);
        const setChunkSize = { chunkStreamId: 2, typeId: 1, streamId: 0, timestampMs: 0, payload: bin("00000000") };
        new DataView(setChunkSize.payload.buffer).setUint32(0, sizeBytes);
        parts.push(writer.write(setChunkSize));
        sent.push(setChunkSize);
        writer.setChunkSize(sizeBytes);
      }
      const message = {
        chunkStreamId: randomInt(random, 3, 400),
        typeId: randomInt(random, 8, 9),
        streamId: randomInt(random, 0, 3),
        timestampMs: random() < 0.3 ? randomInt(random, 0xfffff0, 0xffffffff) : randomInt(random, 0, 100_000),
        payload: randomBytes(random, randomInt(random, 0, 1500)),
      };
      parts.push(writer.write(message));
      sent.push(message);
    }
    const bytes = concat(parts);
    const received: RtmpMessage[] = [];
    for (let start = 0; start < bytes.length;) {
      const next = start + randomInt(random, 1, 700);
      received.push(...reader.readAll(bytes.subarray(start, next)));
      start = next;
    }
    assert.deepEqual(plain(received), plain(sent), `round ${round}`);
  }
});
