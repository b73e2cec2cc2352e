import { createSocket, type Socket } from "node:dgram";
import assert from "node:assert/strict";
import { type OnDatagram, openUdpSocket, POLL_INTERVAL_MS, type UdpSocket } from "./udp_socket.ts";

interface Received {
  data: number[];
  host: string;
  port: number;
  arrivalMs: number;
  handedOnMs: number;
}

function peer(): Promise<Socket> {
  const socket = createSocket("udp4");
  return new Promise((resolve) => socket.bind(0, "127.0.0.1", () => resolve(socket)));
}

/** A polled socket on a free loopback port; a receiver that throws fails the test. */
function loopbackSocket(onDatagram: OnDatagram): Promise<UdpSocket> {
  return openUdpSocket({ hostname: "127.0.0.1", port: 0 }, 1 << 20, onDatagram, (error) => {
    throw error;
  });
}

function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (condition()) resolve();
      else if (Date.now() > deadline) reject(new Error("timed out"));
      else setTimeout(check, 5);
    };
    check();
  });
}

Deno.test("a polled UDP socket hands on every datagram with its sender and arrival time, only while active, and sends back", async () => {
  const received: Received[] = [];
  const socket = await loopbackSocket((data, host, port, arrivalMs) => {
    received.push({ data: [...data], host, port, arrivalMs, handedOnMs: Date.now() });
    return undefined;
  });
  const other = await peer();
  try {
    assert.deepEqual(socket.receivePath, `libc, polled every ${POLL_INTERVAL_MS} ms`);
    assert.ok(socket.address.port > 0);
    assert.ok(socket.receiveBufferBytes !== undefined && socket.receiveBufferBytes >= 2 * (1 << 20));
    const otherPort = other.address().port;

    const sentMs = Date.now();
    other.send(new Uint8Array([1, 2, 3]), socket.address.port, "127.0.0.1");
    await new Promise((resolve) => setTimeout(resolve, 3 * POLL_INTERVAL_MS));
    assert.equal(received.length, 0, "an inactive socket hands on nothing");

    socket.setActive(true);
    for (let i = 0; i < 100; i++) other.send(new Uint8Array([i, 9]), socket.address.port, "127.0.0.1");
    await until(() => received.length === 101);
    const [first, last] = [received[0]!, received[100]!];
    assert.deepEqual({ ...first, arrivalMs: 0, handedOnMs: 0 }, {
      data: [1, 2, 3],
      host: "127.0.0.1",
      port: otherPort,
      arrivalMs: 0,
      handedOnMs: 0,
    });
    assert.deepEqual([last.data, last.host, last.port], [[99, 9], "127.0.0.1", otherPort]);
    // The arrival time is the kernel's, not the poll's: the first datagram waited in the socket while it was inactive.
    assert.ok(first.handedOnMs - sentMs >= 3 * POLL_INTERVAL_MS - 1, `handed on ${first.handedOnMs - sentMs} ms after`);
    assert.ok(Math.abs(first.arrivalMs - sentMs) < 50, `arrived ${first.arrivalMs - sentMs} ms after it was sent`);

    // The largest datagrams come whole (on loopback, H.264 packetization-mode 0 sends slices of many KiB).
    other.send(new Uint8Array(65_507).fill(5), socket.address.port, "127.0.0.1");
    other.send(new Uint8Array([42]), socket.address.port, "127.0.0.1");
    await until(() => received.length === 103);
    assert.equal(received[101]?.data.length, 65_507);
    assert.ok(received[101]?.data.every((byte) => byte === 5));
    assert.deepEqual(received[102]?.data, [42]);

    const echoed = new Promise<number[]>((resolve) => other.once("message", (data) => resolve([...data])));
    const big = new Uint8Array(1400).fill(7);
    socket.send(big.subarray(100, 103), otherPort, "127.0.0.1");
    assert.deepEqual(await echoed, [7, 7, 7]);
  } finally {
    other.close();
    await socket.close();
  }
});

Deno.test("a UDP port in use is refused with the errno name as code, as node:dgram gives it", async () => {
  const taken = await peer();
  try {
    await assert.rejects(
      openUdpSocket({ hostname: "127.0.0.1", port: taken.address().port }, 1 << 20, () => undefined, () => {}),
      { code: "EADDRINUSE" },
    );
  } finally {
    taken.close();
  }
});

Deno.test("a receiver's promise holds the next datagram back; one that throws is reported and the next comes", async () => {
  const seen: string[] = [];
  const errors: string[] = [];
  let settled = false;
  const socket = await openUdpSocket({ hostname: "127.0.0.1", port: 0 }, 1 << 20, (data) => {
    const kind = String.fromCharCode(data[0]!);
    seen.push(`${kind}${settled ? "+" : ""}`);
    if (kind === "x") throw new Error("bad datagram");
    // "h" (a handshake) goes on in a promise chain that the datagrams behind it depend on.
    if (kind === "h") return new Promise((resolve) => setTimeout(resolve, 5)).then(() => void (settled = true));
    return undefined;
  }, (error, host) => errors.push(`${(error as Error).message} from ${host}`));
  const other = await peer();
  try {
    for (const kind of "xhm") {
      const datagram = new TextEncoder().encode(kind);
      await new Promise<void>((resolve) => other.send(datagram, socket.address.port, "127.0.0.1", () => resolve()));
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
    socket.setActive(true);
    await until(() => seen.length === 3);
    // All three were queued in one batch: "m" waited for "h"'s chain, and "x" threw without stopping the rest.
    assert.deepEqual(seen, ["x", "h", "m+"]);
    assert.deepEqual(errors, ["bad datagram from 127.0.0.1"]);
  } finally {
    other.close();
    await socket.close();
  }
});

Deno.test("flush hands on the datagrams waiting in a polled socket at once, not at the next poll", async () => {
  const received: number[] = [];
  const socket = await loopbackSocket((data) => {
    received.push(data[0]!);
    return undefined;
  });
  const other = await peer();
  try {
    socket.setActive(true);
    other.send(new Uint8Array([1]), socket.address.port, "127.0.0.1");
    await until(() => received.length === 1);
    // Just after a poll: the next is about POLL_INTERVAL_MS away.
    await new Promise<void>((resolve) =>
      other.send(new Uint8Array([2]), socket.address.port, "127.0.0.1", () => resolve())
    );
    const startMs = Date.now();
    await socket.flush();
    assert.deepEqual(received, [1, 2]);
    assert.ok(Date.now() - startMs < POLL_INTERVAL_MS / 2, `flushed in ${Date.now() - startMs} ms`);
  } finally {
    other.close();
    await socket.close();
  }
});

Deno.test("a polled socket takes every datagram out of the kernel's buffer while the receiver is still busy with earlier ones", async () => {
  const received: number[] = [];
  // 2 ms a datagram, in a promise chain: the receiver takes 500 a second, and the sender below sends 2,000.
  const socket = await loopbackSocket((data) => {
    received.push(new DataView(data.buffer, data.byteOffset).getUint16(0));
    return new Promise((resolve) => setTimeout(resolve, 2));
  });
  const other = await peer();
  try {
    socket.setActive(true);
    // The kernel counts about 4.6 KiB against its buffer for each: it holds about 450 of them.
    const count = 1000;
    for (let sent = 0; sent < count;) {
      for (let i = 0; i < 40; i++, sent++) {
        const datagram = new Uint8Array(1200);
        new DataView(datagram.buffer).setUint16(0, sent);
        other.send(datagram, socket.address.port, "127.0.0.1");
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await until(() => received.length === count, 10_000).catch(() => {});
    assert.equal(received.length, count, "datagrams lost in the kernel's buffer");
    // (node:dgram may send a burst queued before its socket is ready in another order.)
    assert.deepEqual(received.toSorted((a, b) => a - b), [...Array(count).keys()]);
  } finally {
    other.close();
    await socket.close();
  }
});

Deno.test("flush hands on what the socket holds even in the moment after a run of handing on has ended", async () => {
  const received: string[] = [];
  let flushed: Promise<void> | undefined;
  const socket = await loopbackSocket((data) => {
    const kind = String.fromCharCode(data[0]!);
    received.push(kind);
    if (kind === "s") {
      // A stop: "t" lands in the socket (sent to itself, synchronously), and the socket is flushed in the next
      // microtask, before the run that handed "s" on has been cleared away.
      socket.send(new TextEncoder().encode("t"), socket.address.port, "127.0.0.1");
      queueMicrotask(() => flushed = socket.flush());
    }
    return undefined;
  });
  const other = await peer();
  try {
    socket.setActive(true);
    other.send(new TextEncoder().encode("s"), socket.address.port, "127.0.0.1");
    await until(() => flushed !== undefined);
    await flushed;
    assert.deepEqual(received, ["s", "t"]);
  } finally {
    other.close();
    await socket.close();
  }
});
