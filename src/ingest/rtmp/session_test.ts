/**
 * RtmpSession driven by a scripted client: the publish conversation from handshake to deleteStream, refusal,
 * pings, acknowledgements, AMF3-wrapped commands, aggregates, early media, protocol errors and random input.
 */

import assert from "node:assert/strict";
import { Amf0EcmaArray, amf0Object, type Amf0Value, encodeAmf0 } from "./amf0.ts";
import { MessageType, u32Payload, UserControlEvent, userControlPayload } from "./messages.ts";
import { type RtmpEvent, RtmpSession, type RtmpSessionOptions, type SessionOutput } from "./session.ts";
import { ScriptedClient, type ServerMessage } from "./test_client.ts";
import { bin, concat, randomBytes, randomInt, seededRandom } from "../../shared/testing.ts";

const TC_URL = "rtmp://127.0.0.1:1935/live";
const zeros = (n: number) => new Uint8Array(n);

/** A session and client past the handshake. */
function handshaken(options: RtmpSessionOptions = {}) {
  const session = new RtmpSession({ randomBytes: zeros, ...options });
  const client = new ScriptedClient();
  const hello = session.push(client.c0c1());
  assert.equal(hello.output.length, 3073);
  assert.deepEqual(session.push(client.c2()), { output: new Uint8Array(0), events: [] });
  assert.equal(session.handshakeDone, true);
  client.receive(hello.output);
  /** Pushes bytes and returns the events and the server messages they caused. */
  const send = (...parts: Uint8Array[]) => replies(session.push(concat(parts)));
  const replies = (result: SessionOutput): { events: RtmpEvent[]; messages: ServerMessage[] } => ({
    events: result.events,
    messages: client.receive(result.output),
  });
  return { session, client, send, replies };
}

function connectCommand(client: ScriptedClient, opts: { amf3?: boolean; app?: string } = {}) {
  const properties = amf0Object({ app: opts.app ?? "live", type: "nonprivate", tcUrl: TC_URL, objectEncoding: 0 });
  return client.command("connect", 1, [properties], { amf3: opts.amf3 ?? false });
}

/** Handshake, connect, createStream and publish `name`; the publish is pending. */
function publishing(name = "cam1?token=abc", options: RtmpSessionOptions = {}) {
  const parts = handshaken(options);
  const { client, send } = parts;
  send(connectCommand(client));
  const created = send(client.command("createStream", 4, [null]));
  assert.equal(created.messages[0]?.command?.values[2], 1);
  const published = send(client.command("publish", 5, [null, name, "live"], { streamId: 1 }));
  return { ...parts, published };
}

/** Events with the close event's stats left out, for comparisons. */
function withoutStats(events: RtmpEvent[]) {
  return events.map((e) => {
    if (e.type !== "close") return e;
    const { stats: _, ...rest } = e;
    return rest;
  });
}

function commandNames(messages: ServerMessage[]): string[] {
  return messages.map((m) => m.command?.name ?? `type ${m.typeId}`);
}

function info(message: ServerMessage | undefined): Record<string, Amf0Value> {
  const object = message?.command?.values.at(-1);
  assert.ok(object instanceof Map, "last command value is an object");
  return Object.fromEntries(object);
}

Deno.test("RtmpSession runs a publish conversation: connect, releaseStream, FCPublish, createStream, publish, media, deleteStream", () => {
  const { session, client, send } = handshaken();

  const connected = send(connectCommand(client));
  assert.deepEqual(connected.events, [{ type: "connect", app: "live", tcUrl: TC_URL }]);
  assert.deepEqual(connected.messages.map((m) => [m.typeId, m.chunkStreamId]), [[5, 2], [6, 2], [1, 2], [20, 3]]);
  assert.deepEqual(connected.messages[0]!.payload, u32Payload(5_000_000)); // Window Acknowledgement Size
  assert.deepEqual(connected.messages[1]!.payload, bin("004c4b40 02")); // Set Peer Bandwidth, dynamic
  assert.deepEqual(connected.messages[2]!.payload, u32Payload(4096)); // Set Chunk Size
  const result = connected.messages[3]!;
  assert.equal(result.command?.name, "_result");
  assert.equal(result.command?.values[0], 1);
  assert.deepEqual(info(result), {
    level: "status",
    code: "NetConnection.Connect.Success",
    description: "Connection succeeded.",
    objectEncoding: 0,
  });

  const released = send(
    client.command("releaseStream", 2, [null, "cam1?token=abc"]),
    client.command("FCPublish", 3, [null, "cam1?token=abc"]),
    client.command("createStream", 4, [null]),
  );
  assert.deepEqual(released.events, []);
  assert.deepEqual(commandNames(released.messages), ["_result", "onFCPublish", "_result"]);
  assert.deepEqual(released.messages[2]!.command?.values, [4, null, 1]);

  const published = send(client.command("publish", 5, [null, "cam1?token=abc", "live"], { streamId: 1 }));
  assert.deepEqual(published.messages, []); // the owner decides first
  assert.equal(published.events.length, 1);
  const publish = published.events[0]!;
  assert.ok(publish.type === "publish");
  assert.deepEqual({ ...publish, query: Object.fromEntries(publish.query) }, {
    type: "publish",
    streamId: 1,
    app: "live",
    tcUrl: TC_URL,
    name: "cam1",
    query: { token: "abc" },
    publishType: "live",
  });

  const accepted = client.receive(session.accept(1).output);
  assert.deepEqual(accepted.map((m) => [m.typeId, m.streamId]), [[4, 0], [20, 1]]);
  assert.deepEqual(accepted[0]!.payload, userControlPayload(UserControlEvent.StreamBegin, 1));
  assert.deepEqual(info(accepted[1]), {
    level: "status",
    code: "NetStream.Publish.Start",
    description: "cam1 is now published.",
  });

  const metadata = new Amf0EcmaArray([["width", 640], ["height", 360]]);
  const media = send(
    client.message(MessageType.DataAmf0, 1, 0, encodeAmf0("@setDataFrame", "onMetaData", metadata)),
    client.message(MessageType.Video, 1, 0, bin("17 00 000000 01640028"), 6),
    client.message(MessageType.Audio, 1, 0, bin("af 00 1190"), 4),
    client.message(MessageType.Video, 1, 33, new Uint8Array(5000).fill(0x27), 6),
  );
  assert.deepEqual(media.messages, []);
  assert.deepEqual(media.events, [
    { type: "metadata", streamId: 1, timestampMs: 0, metadata },
    { type: "media", kind: "video", streamId: 1, timestampMs: 0, payload: bin("17 00 000000 01640028") },
    { type: "media", kind: "audio", streamId: 1, timestampMs: 0, payload: bin("af 00 1190") },
    { type: "media", kind: "video", streamId: 1, timestampMs: 33, payload: new Uint8Array(5000).fill(0x27) },
  ]);

  const ended = send(
    client.command("FCUnpublish", 6, [null, "cam1?token=abc"]),
    client.command("deleteStream", 7, [null, 1]),
  );
  assert.deepEqual(ended.events, [{ type: "unpublish", streamId: 1, name: "cam1", reason: "FCUnpublish" }]);
  assert.deepEqual(commandNames(ended.messages), ["onFCUnpublish"]);
  assert.deepEqual(withoutStats(session.close("peer closed").events), [
    { type: "close", reason: "peer closed", protocolError: false },
  ]);
  assert.deepEqual(session.stats, {
    bytesReceived: session.stats.bytesReceived,
    messagesReceived: 11,
    mediaMessages: 3,
    droppedMessages: 0,
    ignoredMessages: 0,
    unknownCommands: [],
    peerChunkSizeBytes: 128,
  });
});

Deno.test("RtmpSession refusal sends an error-level onStatus with code and description, then closes", () => {
  const { session, client, published } = publishing();
  assert.equal(published.events[0]?.type, "publish");
  const refused = session.refuse(1, { code: "NetStream.Publish.Unauthorized", description: "bad token" });
  const [status, ...rest] = client.receive(refused.output);
  assert.deepEqual(rest, []);
  assert.equal(status?.command?.name, "onStatus");
  assert.equal(status?.streamId, 1);
  assert.deepEqual(info(status), { level: "error", code: "NetStream.Publish.Unauthorized", description: "bad token" });
  assert.deepEqual(withoutStats(refused.events), [
    { type: "close", reason: "publish refused: cam1: NetStream.Publish.Unauthorized: bad token", protocolError: false },
  ]);
  assert.equal(session.closed, true);
  const after = session.push(client.message(MessageType.Video, 1, 0, bin("17 01")));
  assert.deepEqual(after, { output: new Uint8Array(0), events: [] });
  assert.deepEqual(session.accept(1), { output: new Uint8Array(0), events: [] });
});

Deno.test("RtmpSession refuses an empty stream name itself, with NetStream.Publish.BadName", () => {
  const { published } = publishing("");
  assert.deepEqual(info(published.messages[0]), {
    level: "error",
    code: "NetStream.Publish.BadName",
    description: "empty stream name",
  });
  assert.deepEqual(withoutStats(published.events), [
    { type: "close", reason: "publish refused: empty stream name", protocolError: false },
  ]);
});

Deno.test("RtmpSession answers a PingRequest with a PingResponse carrying its timestamp", () => {
  const { client, send } = handshaken();
  send(connectCommand(client));
  const pinged = send(
    client.message(MessageType.UserControl, 0, 0, userControlPayload(UserControlEvent.PingRequest, 1234), 2),
  );
  assert.deepEqual(pinged.messages.map((m) => [m.typeId, m.payload]), [
    [MessageType.UserControl, userControlPayload(UserControlEvent.PingResponse, 1234)],
  ]);
  assert.deepEqual(pinged.events, []);
});

Deno.test("RtmpSession acknowledges each time the peer's window of received bytes is passed", () => {
  const { session, client, send } = publishing();
  session.accept(1);
  const acks = (messages: ServerMessage[]) =>
    messages.filter((m) => m.typeId === MessageType.Acknowledgement).map((m) =>
      new DataView(m.payload.buffer, m.payload.byteOffset).getUint32(0)
    );
  // No window announced yet: no acknowledgements, however many bytes.
  assert.ok(session.stats.bytesReceived > 3000);
  assert.deepEqual(acks(send(client.message(MessageType.WindowAckSize, 0, 0, u32Payload(5000), 2)).messages), []);
  // From now on: an Acknowledgement of the total each time 5000 bytes more than the last one came in.
  let acknowledged = 0;
  const seen: number[] = [];
  for (let i = 0; i < 20; i++) {
    const { messages, events } = send(client.message(MessageType.Video, 1, 40 * i, new Uint8Array(1500), 6));
    assert.equal(events.length, 1);
    const total = session.stats.bytesReceived;
    const expected = total - acknowledged >= 5000 ? [total] : [];
    if (expected.length > 0) acknowledged = total;
    assert.deepEqual(acks(messages), expected, `frame ${i}`);
    seen.push(...expected);
  }
  assert.ok(seen.length >= 5, `acknowledgements at ${seen}`);
});

Deno.test("RtmpSession answers unknown commands that expect a reply with _error and ignores the rest, going on", () => {
  const { session, client, send } = handshaken();
  send(connectCommand(client));
  const unknown = send(client.command("getStreamLength", 9, [null, "x"]), client.command("whatever", 0, [null]));
  assert.deepEqual(commandNames(unknown.messages), ["_error"]);
  assert.equal(unknown.messages[0]!.command?.values[0], 9);
  assert.deepEqual(info(unknown.messages[0]), {
    level: "error",
    code: "NetConnection.Call.Failed",
    description: "unknown getStreamLength",
  });
  assert.equal(session.stats.ignoredMessages, 2);
  assert.deepEqual(session.stats.unknownCommands, ["getStreamLength", "whatever"], "named in the close log line");
  const created = send(client.command("createStream", 10, [null]));
  assert.deepEqual(created.messages[0]!.command?.values, [10, null, 1]);
});

Deno.test("RtmpSession says a closing peer cut off a message, and how many of its bytes came", () => {
  const { session, client, send } = handshaken();
  send(connectCommand(client));
  const command = client.command("createStream", 2, [null]);
  send(command.subarray(0, 20)); // the 12-byte type 0 header and 8 bytes of the command
  const [closed] = session.close("peer closed the connection").events;
  assert.equal(
    closed?.type === "close" && closed.reason,
    "peer closed the connection, cutting off a message after 8 bytes",
  );
});

Deno.test("RtmpSession takes AMF3 command and data messages that wrap AMF0 after a 0 byte", () => {
  const { session, client, send } = handshaken();
  const connected = send(connectCommand(client, { amf3: true }));
  assert.deepEqual(connected.events, [{ type: "connect", app: "live", tcUrl: TC_URL }]);
  send(client.command("createStream", 2, [null], { amf3: true }));
  const published = send(client.command("publish", 3, [null, "cam", "live"], { streamId: 1, amf3: true }));
  assert.equal(published.events[0]?.type, "publish");
  session.accept(1);
  const data = concat([bin("00"), encodeAmf0("onMetaData", amf0Object({ duration: 0 }))]);
  assert.deepEqual(send(client.message(MessageType.DataAmf3, 1, 0, data)).events, [
    { type: "metadata", streamId: 1, timestampMs: 0, metadata: amf0Object({ duration: 0 }) },
  ]);
});

Deno.test("RtmpSession holds media sent before the decision and hands it out on accept; drops it on other streams", () => {
  const { session, client, send } = publishing();
  const early = send(
    client.message(MessageType.Video, 1, 0, bin("17 00"), 6),
    client.message(MessageType.Video, 7, 0, bin("17 01"), 6), // no such stream
  );
  assert.deepEqual(early.events, []);
  assert.deepEqual(session.accept(1).events, [
    { type: "media", kind: "video", streamId: 1, timestampMs: 0, payload: bin("17 00") },
  ]);
  assert.equal(session.stats.droppedMessages, 1);
  assert.deepEqual(session.accept(1), { output: new Uint8Array(0), events: [] }, "accepting twice does nothing");
});

Deno.test("RtmpSession emits unpublish for a pending publish that ends before the owner decides", () => {
  const { session, client, send } = publishing();
  const closed = send(client.command("closeStream", 0, [null], { streamId: 1 }));
  assert.deepEqual(closed.events, [{ type: "unpublish", streamId: 1, name: "cam1", reason: "closeStream" }]);
  assert.deepEqual(session.accept(1), { output: new Uint8Array(0), events: [] });
  // The stream can publish again.
  const again = send(client.command("publish", 8, [null, "cam2", "live"], { streamId: 1 }));
  assert.equal(again.events[0]?.type, "publish");
  const deleted = send(client.command("deleteStream", 9, [null, 1]));
  assert.deepEqual(deleted.events, [{ type: "unpublish", streamId: 1, name: "cam2", reason: "deleteStream" }]);
});

Deno.test("RtmpSession close while publishing emits unpublish then close with the final stats, once", () => {
  const { session } = publishing();
  session.accept(1);
  const { events } = session.close("idle for 10000 ms");
  const close = events.at(-1);
  assert.ok(close?.type === "close");
  assert.deepEqual(close.stats, session.stats);
  assert.deepEqual(withoutStats(events), [
    { type: "unpublish", streamId: 1, name: "cam1", reason: "connection closed" },
    { type: "close", reason: "idle for 10000 ms", protocolError: false },
  ]);
  assert.deepEqual(session.close("again").events, []);
  assert.deepEqual(session.stats.peerChunkSizeBytes, 128);
});

Deno.test("RtmpSession closes on protocol errors with a reason, after unpublishing", () => {
  const { session, send } = publishing();
  session.accept(1);
  const broken = send(bin("47 000000 000001 08 aa")); // type 1 header on a new chunk stream
  assert.deepEqual(broken.events.map((e) => e.type), ["unpublish", "close"]);
  const close = broken.events[1]!;
  assert.ok(close.type === "close" && close.protocolError);
  assert.match(close.reason, /^protocol error: invalid RTMP chunk stream: chunk stream 7 starts with a type 1 header/);
  assert.equal(session.closed, true);

  const early = handshaken();
  const beforeConnect = early.send(early.client.command("createStream", 1, [null]));
  assert.deepEqual(withoutStats(beforeConnect.events), [
    { type: "close", reason: 'protocol error: command "createStream" before connect', protocolError: true },
  ]);

  const badVersion = new RtmpSession({ randomBytes: zeros }).push(bin("06"));
  assert.match((badVersion.events[0] as { reason: string }).reason, /RTMPE/);
});

Deno.test("RtmpSession refuses play: this server only ingests", () => {
  const { session, client, send } = handshaken();
  send(connectCommand(client));
  const played = send(client.command("play", 0, [null, "cam1"], { streamId: 1 }));
  assert.equal(info(played.messages[0]).code, "NetStream.Play.Failed");
  assert.equal(session.closed, true);
});

Deno.test("RtmpSession splits aggregate messages into their sub-messages with relative timestamps", () => {
  const { session, client, send } = publishing();
  session.accept(1);
  const aggregate = bin(
    "09 000002 000064 00 000000 1701 0000000d" + // video, ts 100, 2 bytes, back pointer
      "08 000001 000078 00 000000 af 0000000c", // audio, ts 120
  );
  assert.deepEqual(send(client.message(MessageType.Aggregate, 1, 1000, aggregate)).events, [
    { type: "media", kind: "video", streamId: 1, timestampMs: 1000, payload: bin("1701") },
    { type: "media", kind: "audio", streamId: 1, timestampMs: 1020, payload: bin("af") },
  ]);
  const broken = send(client.message(MessageType.Aggregate, 1, 0, bin("09 0000ff 000000 00 000000 17")));
  assert.match((broken.events.at(-1) as { reason: string }).reason, /aggregate message: sub-message of 255 bytes/);
});

Deno.test("RtmpSession extends media timestamps past the 32-bit wrap", () => {
  const { session, client, send } = publishing();
  session.accept(1);
  const events = send(
    client.message(MessageType.Video, 1, 0xffff_ffe0, bin("17"), 6),
    client.message(MessageType.Video, 1, 0x10, bin("27"), 6),
  ).events;
  assert.deepEqual(events.map((e) => e.type === "media" && e.timestampMs), [0xffff_ffe0, 2 ** 32 + 0x10]);
});

Deno.test("RtmpSession gives the same events for the client's bytes split at every byte boundary", () => {
  const client = new ScriptedClient();
  const bytes = concat([
    client.c0c1(),
    client.c2(),
    connectCommand(client),
    client.setChunkSize(100),
    client.command("createStream", 2, [null]),
    client.command("publish", 3, [null, "cam1?a=1&b=2", "record"], { streamId: 1 }),
    client.message(MessageType.Video, 1, 10, new Uint8Array(250).fill(1), 6),
  ]);
  const run = (pieces: Uint8Array[]) => {
    const session = new RtmpSession({ randomBytes: zeros });
    const results = pieces.map((piece) => session.push(piece));
    const accepted = session.accept(1);
    return {
      output: concat([...results.map((r) => r.output), accepted.output]),
      events: [...results.flatMap((r) => r.events), ...accepted.events].map((e) =>
        e.type === "publish" ? { ...e, query: e.query.toString() } : e
      ),
    };
  };
  const whole = run([bytes]);
  assert.deepEqual(whole.events.map((e) => e.type), ["connect", "publish", "media"]);
  for (let split = 1; split < bytes.length; split += split < 4700 ? 97 : 1) {
    assert.deepEqual(run([bytes.subarray(0, split), bytes.subarray(split)]), whole, `split at ${split}`);
  }
});

Deno.test("RtmpSession on random bytes after connect throws nothing and ends, if at all, with a close event", () => {
  const random = seededRandom(0x5e55);
  for (let i = 0; i < 2_000; i++) {
    const { session, client, send } = handshaken();
    send(connectCommand(client));
    // Half the cases send well-framed messages of random types and bodies, half raw garbage.
    const garbage = i % 2 === 0
      ? client.message(
        randomInt(random, 0, 25),
        randomInt(random, 0, 2),
        0,
        randomBytes(random, randomInt(random, 0, 60)),
      )
      : randomBytes(random, randomInt(random, 1, 200));
    const { events } = send(garbage);
    const closes = events.filter((e) => e.type === "close");
    assert.ok(closes.length <= 1 && (closes.length === 0 || events.at(-1)?.type === "close"));
    assert.equal(session.closed, closes.length === 1);
  }
});
