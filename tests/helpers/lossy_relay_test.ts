/** The lossy relay on its own: how it tells datagrams apart, and what it does to them over real loopback sockets. */

import assert from "node:assert/strict";
import dgram from "node:dgram";
import { classify, startLossyRelay } from "./lossy_relay.ts";

const CLASSES = [
  { name: "STUN binding request", bytes: [0x00, 0x01, 0x00, 0x00], kind: "stun" },
  { name: "DTLS handshake record", bytes: [22, 0xfe, 0xfd, 0x00], kind: "dtls" },
  { name: "RTP, payload type 111", bytes: [0x80, 111, ...new Array(10).fill(0)], kind: "pt 111" },
  {
    name: "RTP, payload type 108 with the marker bit",
    bytes: [0x80, 0x80 | 108, ...new Array(10).fill(0)],
    kind: "pt 108",
  },
  { name: "RTCP sender report", bytes: [0x80, 200, ...new Array(10).fill(0)], kind: "rtcp" },
  { name: "RTCP transport feedback (NACK)", bytes: [0x81, 205, ...new Array(10).fill(0)], kind: "rtcp" },
  { name: "ZRTP or anything else", bytes: [64, 0, 0, 0], kind: "other" },
];

Deno.test("classify tells STUN, DTLS, RTP (by payload type) and RTCP apart by their first bytes (RFC 7983)", () => {
  for (const { name, bytes, kind } of CLASSES) assert.equal(classify(new Uint8Array(bytes)), kind, name);
});

/** An RTP packet of payload type 96 with `sequence`, and a STUN-looking datagram. */
const rtp = (sequence: number) => new Uint8Array([0x80, 96, sequence >> 8, sequence & 0xff, ...new Array(8).fill(0)]);
const STUN = new Uint8Array([0x00, 0x01, 0x00, 0x00]);

/**
 * Sends `count` RTP packets (each followed by a STUN datagram every 10th) through a relay to a loopback target that
 * echoes STUN; resolves with the sequence numbers the target got, in order, and how many STUN echoes came back.
 */
async function throughRelay(count: number, seed: number): Promise<{ sequences: number[]; echoes: number }> {
  const target = dgram.createSocket("udp4");
  const sequences: number[] = [];
  target.on("message", (message, remote) => {
    if (classify(message) === "stun") target.send(message, remote.port, remote.address);
    else sequences.push((message[2]! << 8) | message[3]!);
  });
  await new Promise<void>((resolve) => target.bind(0, "127.0.0.1", resolve));
  const relay = await startLossyRelay({
    target: { hostname: "127.0.0.1", port: target.address().port },
    toTarget: { lossRate: 0.05, reorderRate: 0.02 },
    seed,
  });
  const client = dgram.createSocket("udp4");
  let echoes = 0;
  client.on("message", () => echoes++);
  await new Promise<void>((resolve) => client.bind(0, "127.0.0.1", resolve));
  try {
    for (let sequence = 0; sequence < count; sequence++) {
      client.send(rtp(sequence), relay.port, "127.0.0.1");
      if (sequence % 10 === 9) {
        client.send(STUN, relay.port, "127.0.0.1");
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    const { toTarget } = relay.counts();
    const expected = (toTarget["pt 96"]?.forwarded ?? 0) + count / 10;
    const deadline = Date.now() + 5000;
    while (sequences.length + echoes < expected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return { sequences, echoes };
  } finally {
    client.close();
    target.close();
    await relay.close();
  }
}

Deno.test("the relay drops and reorders RTP at seeded random, passes STUN both ways, and repeats itself by seed", async () => {
  const first = await throughRelay(1000, 42);
  const again = await throughRelay(1000, 42);
  const dropped = 1000 - first.sequences.length;
  assert.ok(dropped >= 20 && dropped <= 90, `about 5% of 1000 dropped, got ${dropped}`);
  const late = first.sequences.filter((sequence, i) => i > 0 && sequence < first.sequences[i - 1]!).length;
  assert.ok(late >= 5, `about 2% arrived behind a later packet, got ${late}`);
  assert.equal(first.echoes, 100, "every STUN datagram passed, and its echo came back");
  assert.deepEqual(new Set(again.sequences), new Set(first.sequences), "the same seed drops the same packets");
});
