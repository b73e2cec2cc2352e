import assert from "node:assert/strict";
import { connect, createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { openLibc } from "./libc.ts";
import { connectionInodes, receiveLowWater } from "./tcp_low_water.ts";

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

Deno.test("connectionInodes finds the established connection between two ports in a /proc/net/tcp table", () => {
  const table = [
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "   0: 0100007F:2E9F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0 100 0 0 10 0",
    "   1: 0100007F:2E9F 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 1002 1 0 20 4 30 10 -1",
    "   2: 0100007F:A1B2 0100007F:2E9F 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0 20 4 30 10 -1",
    "   3: 0100007F:2E9F 0100007F:A1B3 06 00000000:00000000 00:00000000 00000000     0        0 0 3 0 0 0 0 0 0",
  ].join("\n");
  assert.deepEqual(
    connectionInodes(table, 0x2e9f, 0xa1b2),
    ["1002"],
    "the listener, the client's end and others skipped",
  );
  assert.deepEqual(connectionInodes(table, 0x2e9f, 0xa1b3), [], "a connection in TIME_WAIT is not established");
});
