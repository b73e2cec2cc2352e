/**
 * A raw RTMP client over a real TCP socket, for end-to-end tests that need bytes no publisher sends: the handshake,
 * commands and media come from `ScriptedClient` (src/ingest/rtmp/test_client.ts), and a test may cut them anywhere
 * or send them out of order. It reads the server's replies and notices the server closing the connection; it
 * judges nothing about them.
 */

import { HANDSHAKE_PACKET_BYTES } from "../../src/ingest/rtmp/mod.ts";
import { ScriptedClient, type ServerMessage } from "../../src/ingest/rtmp/test_client.ts";

/** S0 + S1 + S2: what the server sends back for C0 + C1. */
export const SERVER_HANDSHAKE_BYTES = 1 + 2 * HANDSHAKE_PACKET_BYTES;

/** A connected raw client; `handshakeBytes` counts every byte read (the handshake reply and all later ones). */
export interface RawRtmpClient {
  conn: Deno.TcpConn;
  client: ScriptedClient;
  /** The server's messages so far, commands decoded. */
  received: ServerMessage[];
  /** This side's port: the `remotePort` the server logs for the connection. */
  localPort: number;
  /** All bytes read from the server so far. */
  handshakeBytes(): number;
  /** Writes every byte of `bytes` (a socket write may take only part of them). */
  send(bytes: Uint8Array): Promise<void>;
  /** C0+C1, waits for S0+S1+S2, then C2: the chunk stream starts after this. */
  handshake(): Promise<void>;
  /** Reads until `done()` holds; fails when the server closes first or after `timeoutMs`. */
  readUntil(what: string, done: () => boolean, timeoutMs?: number): Promise<void>;
  /** Reads (and keeps) everything until the server ends the connection; fails after `timeoutMs`. */
  closedByServer(timeoutMs: number): Promise<void>;
  /** Closes this side (a second call does nothing). */
  close(): void;
}

/** Connects to an RTMP server on 127.0.0.1:`port`. */
export async function rawClient(port: number): Promise<RawRtmpClient> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const client = new ScriptedClient();
  const received: ServerMessage[] = [];
  let readBytes = 0;
  let closed = false;
  let serverClosed = false;
  const buffer = new Uint8Array(65_536);

  /** One read: false once the server has closed (end of stream or reset). */
  const readOnce = async (deadlineMs: number, what: string): Promise<boolean> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${what}`)),
        Math.max(0, deadlineMs - Date.now()),
      );
    });
    try {
      const n = await Promise.race([conn.read(buffer).catch(() => null), timeout]);
      if (n === null) {
        serverClosed = true;
        return false;
      }
      readBytes += n;
      received.push(...client.receive(buffer.slice(0, n)));
      return true;
    } finally {
      clearTimeout(timer);
    }
  };

  const readUntil = async (what: string, done: () => boolean, timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (serverClosed || !(await readOnce(deadline, what))) {
        throw new Error(`connection closed while waiting for ${what}`);
      }
    }
  };

  const send = async (bytes: Uint8Array) => {
    for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
  };

  return {
    conn,
    client,
    received,
    localPort: (conn.localAddr as Deno.NetAddr).port,
    handshakeBytes: () => readBytes,
    send,
    async handshake() {
      await send(client.c0c1());
      await readUntil("S0+S1+S2", () => readBytes >= SERVER_HANDSHAKE_BYTES);
      await send(client.c2());
    },
    readUntil,
    async closedByServer(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!serverClosed && (await readOnce(deadline, "the server to close the connection")));
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch { /* already closed */ }
    },
  };
}

/** The `code` of an onStatus or `_result`/`_error` information object, if `message` is such a command. */
export function statusCode(message: ServerMessage): unknown {
  const info = message.command?.values.at(-1);
  return info instanceof Map ? info.get("code") : undefined;
}
