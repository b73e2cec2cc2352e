/**
 * liverec's NACKs (`nack_sender.ts`) instead of werift's, on a peer connection's video receiver, for the sessions whose
 * media werift still routes (simulcast, or a port of their own). werift's handler asks for a missing packet ten
 * times, 5 ms apart, and then forgets it, however little time that took: after a stall of the event loop its timer
 * fires the ten requests in one burst, and a retransmission lost on the way is never asked for again. Its single
 * sequence space per receiver also mixes the layers of a simulcast publish.
 */

import type { RTCRtpReceiver, RtpPacket } from "werift";
import type { Clock } from "../shared/clock.ts";
import { NackSender } from "./nack_sender.ts";
import { sendRtcp } from "./own_srtp.ts";

/** The part of werift's receiver-side NACK handler that its RTCRtpReceiver calls. */
interface WeriftNack {
  addPacket(packet: RtpPacket): void;
  close(): void;
}

/** Makes `receiver` ask for its lost video packets through liverec's sender, which it answers. */
export function useOwnNack(receiver: RTCRtpReceiver, clock: Clock): NackSender {
  const sender = new NackSender(clock, receiver.rtcpSsrc, (packets) => sendRtcp(receiver.dtlsTransport, packets));
  const nack: WeriftNack = {
    addPacket: (packet) => sender.arrived(packet.header.ssrc, packet.header.sequenceNumber),
    close: () => sender.close(),
  };
  (receiver as unknown as { nack: WeriftNack }).nack = nack;
  return sender;
}
