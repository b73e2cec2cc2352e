/**
 * liverec's media path on datagrams that werift's SRTP protected (an independent implementation): routing by payload
 * type, RTX restored to the original packet, a gap NACKed, sender reports read, and receiver reports sent.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  RtcpPacketConverter,
  RtcpRrPacket,
  RtcpSenderInfo,
  RtcpSrPacket,
  RtpHeader,
  SrtcpSession,
  SrtpSession,
} from "werift";
import { createSrtpContext, SRTP_AEAD_AES_128_GCM, type SrtpContext } from "../srtp/mod.ts";
import type { RtpPacket } from "../rtp/mod.ts";
import type { SenderReport, TrackKind } from "../recorder/mod.ts";
import { isRtcp, MediaReceiver } from "./media_receiver.ts";

const KEY = Buffer.alloc(16, 7);
const SALT = Buffer.alloc(12, 9);
const keys = { localMasterKey: KEY, localMasterSalt: SALT, remoteMasterKey: KEY, remoteMasterSalt: SALT };
const VIDEO_SSRC = 0x1111;
const RTX_SSRC = 0x2222;
const AUDIO_SSRC = 0x3333;

function rtp(srtp: SrtpSession, payloadType: number, ssrc: number, sequenceNumber: number, payload: number[]): Buffer {
  const header = new RtpHeader({ payloadType, ssrc, sequenceNumber, timestamp: sequenceNumber * 3000 });
  return srtp.encrypt(Buffer.from(payload), header);
}

function setUp(reportIntervalMs = 60_000) {
  const srtp = new SrtpSession({ keys, profile: 7 });
  const srtcp = new SrtcpSession({ keys, profile: 7 });
  const got: { kind: TrackKind; packet: RtpPacket; arrivalMs: number; retransmitted: boolean }[] = [];
  const reports: { kind: TrackKind; report: SenderReport }[] = [];
  const sent: Buffer[] = [];
  const context = createSrtpContext(SRTP_AEAD_AES_128_GCM, KEY, SALT) as SrtpContext;
  const receiver = new MediaReceiver({
    routes: {
      video: { payloadType: 96, clockRate: 90_000, rtxPayloadType: 97 },
      audio: { payloadType: 111, clockRate: 48_000 },
    },
    srtp: context,
    clock: { nowMs: () => 5_000 },
    rtcpSsrc: 0xabcd,
    sendRtcp: (packets) => sent.push(...packets.map((bytes) => Buffer.from(bytes))),
    sink: {
      rtp: (kind, packet, arrivalMs, retransmitted) => got.push({ kind, packet, arrivalMs, retransmitted }),
      senderReport: (kind, report) => reports.push({ kind, report }),
    },
    reportIntervalMs,
  });
  return { srtp, srtcp, receiver, got, reports, sent };
}

Deno.test("the media path routes by payload type, restores a retransmission and NACKs the gap it leaves", () => {
  const { srtp, receiver, got, sent } = setUp();
  receiver.receive(rtp(srtp, 96, VIDEO_SSRC, 10, [1, 2]), 4_990);
  receiver.receive(rtp(srtp, 111, AUDIO_SSRC, 500, [3]), 4_990);
  receiver.receive(rtp(srtp, 96, VIDEO_SSRC, 12, [5]), 4_990);
  const [nack] = sent.map((bytes) => RtcpPacketConverter.deSerialize(bytes)[0]);
  assert.deepEqual((nack as unknown as { feedback: { lost: number[]; mediaSourceSsrc: number } }).feedback.lost, [11]);
  // RFC 4588: the RTX payload opens with the original sequence number (11).
  receiver.receive(rtp(srtp, 97, RTX_SSRC, 1, [0, 11, 4]), 4_990);
  receiver.receive(rtp(srtp, 97, RTX_SSRC, 2, []), 4_990);
  receiver.receive(rtp(srtp, 100, VIDEO_SSRC, 13, [6]), 4_990);
  receiver.receive(
    Buffer.from(rtp(srtp, 96, VIDEO_SSRC, 14, [7]).map((byte, i, all) => i === all.length - 1 ? byte ^ 1 : byte)),
    4_990,
  );
  receiver.close();
  assert.ok(got.every((item) => item.arrivalMs === 4_990), "each packet keeps its datagram's arrival time");
  assert.deepEqual(
    got.map((
      { kind, packet, retransmitted },
    ) => [kind, packet.ssrc, packet.sequenceNumber, [...packet.payload], retransmitted]),
    [
      ["video", VIDEO_SSRC, 10, [1, 2], false],
      ["audio", AUDIO_SSRC, 500, [3], false],
      ["video", VIDEO_SSRC, 12, [5], false],
      ["video", VIDEO_SSRC, 11, [4], true],
    ],
    "the padding-only RTX packet, an unknown payload type and a tampered packet are dropped",
  );
});

Deno.test("the media path reads sender reports for their track and reports on every stream it receives", async () => {
  const { srtp, srtcp, receiver, reports, sent } = setUp(20);
  receiver.receive(rtp(srtp, 96, VIDEO_SSRC, 10, [1]), 4_990);
  receiver.receive(rtp(srtp, 111, AUDIO_SSRC, 500, [3]), 4_990);
  const sr = new RtcpSrPacket({
    ssrc: AUDIO_SSRC,
    senderInfo: new RtcpSenderInfo({ ntpTimestamp: 0x83aa_7e80_8000_0000n, rtpTimestamp: 48_000 }),
  });
  const protectedSr = srtcp.encrypt(sr.serialize());
  assert.ok(isRtcp(protectedSr) && !isRtcp(rtp(srtp, 96, VIDEO_SSRC, 11, [1])));
  receiver.receive(protectedSr, 4_990);
  await new Promise((resolve) => setTimeout(resolve, 50));
  receiver.close();
  assert.deepEqual(reports, [{ kind: "audio", report: { ntpMs: 500, rtpTimestamp: 48_000, arrivalMs: 4_990 } }]);
  const rr = RtcpPacketConverter.deSerialize(sent[0]!)[0];
  assert.ok(rr instanceof RtcpRrPacket);
  assert.equal(rr.ssrc, 0xabcd);
  assert.deepEqual(rr.reports.map((block) => [block.ssrc, block.highestSequence, block.lsr]), [
    [VIDEO_SSRC, 10, 0],
    [AUDIO_SSRC, 500, 0x7e80_8000],
  ]);
});
