/** liverec's NACKs on a werift receiver: werift's own RTCP parser reads what is sent, per SSRC. */

import assert from "node:assert/strict";
import type { Buffer } from "node:buffer";
import { GenericNack, RtcpPacketConverter, RtcpTransportLayerFeedback, type RTCRtpReceiver, RtpPacket } from "werift";
import { useOwnNack } from "./own_nack.ts";
import { RtpHeader } from "werift";

/** A receiver with werift's two NACK entry points, recording what would go to the publisher. */
function fakeReceiver() {
  const sent: Buffer[] = [];
  const receiver = {
    rtcpSsrc: 0xabcdef01,
    dtlsTransport: {
      sendRtcp: (packets: { serialize(): Buffer }[]) => {
        sent.push(...packets.map((packet) => packet.serialize()));
        return Promise.resolve();
      },
    },
  };
  const nack = () => (receiver as unknown as { nack: { addPacket(p: RtpPacket): void; close(): void } }).nack;
  return { receiver: receiver as unknown as RTCRtpReceiver, sent, nack };
}

function packet(ssrc: number, sequenceNumber: number): RtpPacket {
  return new RtpPacket(new RtpHeader({ ssrc, sequenceNumber, payloadType: 96 }), new Uint8Array(0) as Buffer);
}

function asked(bytes: Buffer): { mediaSsrc: number; lost: number[] } {
  const [rtcp] = RtcpPacketConverter.deSerialize(bytes);
  assert.ok(rtcp instanceof RtcpTransportLayerFeedback && rtcp.feedback instanceof GenericNack);
  assert.equal(rtcp.feedback.senderSsrc, 0xabcdef01);
  return { mediaSsrc: rtcp.feedback.mediaSourceSsrc, lost: rtcp.feedback.lost };
}

Deno.test("a gap is asked for at once, per SSRC: two simulcast layers' sequence numbers do not mix", () => {
  const { receiver, sent, nack } = fakeReceiver();
  const sender = useOwnNack(receiver, { nowMs: () => 1000 });
  for (const [ssrc, sequence] of [[1, 10], [2, 500], [1, 11], [2, 501], [1, 14], [2, 502]]) {
    nack().addPacket(packet(ssrc!, sequence!));
  }
  nack().close();
  assert.deepEqual(sent.map(asked), [{ mediaSsrc: 1, lost: [12, 13] }]);
  assert.equal(sender.sent, 1);
});
