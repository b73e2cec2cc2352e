import assert from "node:assert/strict";
import { connect, createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { openLibc } from "./libc.ts";
import { receiveLowWater, sockaddrKey } from "./tcp_low_water.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A connected pair over loopback: the server's end (whose reads are counted) and the client's. */
async function pair(): Promise<{ server: Socket; client: Socket; received: () => number; close(): Promise<void> }> {
  let receivedBytes = 0;
  const accepted = Promise.withResolvers<Socket>();
  const listener = createServer((socket) => {
    socket.on("data", (data: Uint8Array) => receivedBytes += data.byteLength);
    accepted.resolve(socket);
  });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const client = connect((listener.address() as AddressInfo).port, "127.0.0.1");
  const server = await accepted.promise;
  return {
    server,
    client,
    received: () => receivedBytes,
    async close() {
      client.destroy();
      server.destroy();
      await new Promise((resolve) => listener.close(resolve));
    },
  };
}

Deno.test("a receive low-water mark holds bytes back until that many wait, and lowering it hands on what waits", async () => {
  const libc = await openLibc();
  assert.ok(libc !== undefined, "libc is reachable through FFI on Linux with --allow-all");
  const { server, client, received, close } = await pair();
  try {
    const setLowWater = receiveLowWater(libc, server);
    assert.ok(setLowWater !== undefined, "the server socket's descriptor is found");
    assert.ok(setLowWater(1000));
    client.write(new Uint8Array(400));
    await sleep(150);
    assert.equal(received(), 0, "400 bytes stay in the kernel under a mark of 1000");
    client.write(new Uint8Array(700));
    await sleep(150);
    assert.equal(received(), 1100, "crossing the mark hands on everything that waits");

    client.write(new Uint8Array(300));
    await sleep(150);
    assert.equal(received(), 1100);
    assert.ok(setLowWater(1));
    await sleep(150);
    assert.equal(received(), 1400, "lowering the mark to 1 tells the process of the 300 bytes waiting");
    assert.ok(setLowWater(1000));
    client.write(new Uint8Array(999));
    await sleep(150);
    assert.equal(received(), 1400, "raised again, the mark holds bytes back again");
  } finally {
    await close();
  }
  assert.equal(receiveLowWater(libc, server)?.(1) ?? false, false, "a destroyed socket's mark is not set");
});

Deno.test("sockaddrKey reads IPv4, IPv4-mapped IPv6 and other IPv6 endpoints; other families are none", () => {
  const sockaddr = (family: number, port: number, fill: (bytes: Uint8Array) => void) => {
    const bytes = new Uint8Array(28);
    new DataView(bytes.buffer).setUint16(0, family, true);
    new DataView(bytes.buffer).setUint16(2, port, false);
    fill(bytes);
    return bytes;
  };
  assert.equal(sockaddrKey(sockaddr(2, 1935, (b) => b.set([127, 0, 0, 1], 4))), "127.0.0.1:1935");
  assert.equal(sockaddrKey(sockaddr(10, 50123, (b) => b.set([0xff, 0xff, 10, 1, 2, 3], 18))), "10.1.2.3:50123");
  assert.equal(sockaddrKey(sockaddr(10, 443, (b) => b.set([0x20, 0x01, 0x0d, 0xb8], 8))), "[v6]:443");
  assert.equal(sockaddrKey(sockaddr(1, 0, () => {})), undefined, "a Unix socket");
});
