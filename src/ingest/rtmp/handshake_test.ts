/** The server handshake: S0+S1+S2 from C0+C1 in any pieces, C2 swallowed, the chunk stream's first bytes kept. */

import assert from "node:assert/strict";
import { HANDSHAKE_PACKET_BYTES, ServerHandshake } from "./handshake.ts";
import { concat, randomBytes, seededRandom, toHex } from "../../shared/testing.ts";

const random = seededRandom(3);
const s1Random = randomBytes(random, HANDSHAKE_PACKET_BYTES - 8);
const c1 = randomBytes(random, HANDSHAKE_PACKET_BYTES);
const c2 = randomBytes(random, HANDSHAKE_PACKET_BYTES);
const after = Uint8Array.of(0x02, 0x00, 0x00);

Deno.test("ServerHandshake answers C0+C1 with S0, S1 (time 0, zero, random) and S2 echoing C1", () => {
  const handshake = new ServerHandshake(s1Random);
  const { output, done } = handshake.push(concat([Uint8Array.of(3), c1]));
  assert.equal(done, false);
  assert.equal(output.length, 1 + 2 * HANDSHAKE_PACKET_BYTES);
  assert.equal(output[0], 3);
  assert.equal(toHex(output.subarray(1, 9)), "0000000000000000");
  assert.deepEqual(output.subarray(9, 1 + HANDSHAKE_PACKET_BYTES), s1Random);
  assert.deepEqual(output.subarray(1 + HANDSHAKE_PACKET_BYTES), c1);
});

Deno.test("ServerHandshake is done after C2 and hands back the bytes that followed it", () => {
  const handshake = new ServerHandshake(s1Random);
  const result = handshake.push(concat([Uint8Array.of(3), c1, c2, after]));
  assert.equal(result.done, true);
  assert.equal(handshake.done, true);
  assert.deepEqual(result.rest, after);
  assert.deepEqual(handshake.push(after), { output: new Uint8Array(0), done: true, rest: after });
});

Deno.test("ServerHandshake gives the same answer for the client bytes split around each packet edge and byte by byte", () => {
  const client = concat([Uint8Array.of(3), c1, c2, after]);
  for (const split of [1, 2, 1536, 1537, 1538, 3072, 3073, 3074, 3075]) {
    const handshake = new ServerHandshake(s1Random);
    const first = handshake.push(client.subarray(0, split));
    const second = handshake.push(client.subarray(split));
    assert.equal(toHex(concat([first.output, second.output]).subarray(1 + HANDSHAKE_PACKET_BYTES)), toHex(c1));
    assert.equal(second.done, true, `split at ${split}`);
    assert.deepEqual(concat([first.rest, second.rest]), after, `split at ${split}`);
  }
  const handshake = new ServerHandshake(s1Random);
  const results = Array.from(client, (byte) => handshake.push(Uint8Array.of(byte)));
  assert.equal(concat(results.map((r) => r.output)).length, 1 + 2 * HANDSHAKE_PACKET_BYTES);
  assert.deepEqual(concat(results.map((r) => r.rest)), after);
});

Deno.test("ServerHandshake refuses other versions, naming RTMPE, TLS and HTTP", () => {
  const cases: [number, RegExp][] = [
    [6, /0x06; RTMPE/],
    [8, /0x08; RTMPE/],
    [0x16, /TLS/],
    [0x47, /HTTP/], // "GET /"
    [0, /only version 3/],
  ];
  for (const [version, message] of cases) {
    assert.throws(() => new ServerHandshake(s1Random).push(Uint8Array.of(version)), {
      name: "RtmpProtocolError",
      message,
    });
  }
});

Deno.test("ServerHandshake refuses only on the version byte: C1 and C2 content is not checked", () => {
  const handshake = new ServerHandshake(s1Random);
  assert.doesNotThrow(() => handshake.push(new Uint8Array(1 + 2 * HANDSHAKE_PACKET_BYTES).fill(3)));
  assert.equal(handshake.done, true);
});
