import assert from "node:assert/strict";
import { StreamHub } from "../recorder/mod.ts";
import { armedGridTimers } from "../shared/aligned_timer.ts";
import { systemClock } from "../shared/clock.ts";
import { UdpMux } from "./udp_mux.ts";
import { publishWhip } from "./whip_client.ts";
import { WhipIngest } from "./whip_ingest.ts";

const WEBRTC = {
  publicIps: [],
  udpPortRange: undefined,
  stunServers: [],
  iceLite: true,
  loopback: true,
  videoCodecs: ["h264"],
  simulcastLayer: undefined,
  startBitrateKbps: 0,
};

Deno.test("an idle WHIP endpoint arms no timer: its watchdog runs only while there are sessions", async () => {
  const ingest = new WhipIngest({ hub: new StreamHub(), clock: systemClock, log: () => {}, webrtc: WEBRTC });
  assert.equal(armedGridTimers(), 0);
  await ingest.close();
});

Deno.test("a publisher's DELETE ends its stream with every packet sent before it, even those the socket still held", async () => {
  const log = () => {};
  const mux = await UdpMux.open({ hostname: "127.0.0.1", port: 0 }, log);
  const hub = new StreamHub();
  const received: number[] = [];
  hub.listen({
    published: (source) => {
      source.addListener({
        rtp: (_kind, packet) => received.push(packet.sequenceNumber),
        senderReport: () => {},
        frame: () => {},
      });
    },
    unpublished: () => {},
  });
  // No drain: what the DELETE finds in the socket, between two of its polls, is all there is to keep.
  const ingest = new WhipIngest({ hub, clock: systemClock, log, webrtc: WEBRTC, udpMux: mux, drainMs: 0 });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    if (request.method === "POST") {
      const { sessionId, answerSdp } = await ingest.publish("cam", await request.text());
      return new Response(answerSdp, { status: 201, headers: { location: `/whip/cam/${sessionId}` } });
    }
    await ingest.end("cam", new URL(request.url).pathname.split("/")[3]!);
    return new Response(null, { status: 200 });
  });
  try {
    const publisher = await publishWhip({
      url: `http://127.0.0.1:${server.addr.port}/whip/cam`,
      video: false,
      audio: true,
    });
    for (let i = 0; i < 50; i++) await publisher.sendAudio(new Uint8Array([0xfc, i]), i * 960);
    await publisher.close();
    assert.equal(received.length, 50, `received ${received.length} of the 50 packets sent`);
  } finally {
    await ingest.close();
    await server.shutdown();
    await mux.close();
  }
});
