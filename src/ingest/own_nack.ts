/**
 * NACKs by liverec's own requester (`src/rtp/nack.ts`) instead of werift's, on a peer connection's video receiver.
 * werift's handler asks for a missing packet ten times, 5 ms apart, and then forgets it, however little time that
 * took: after a stall of the event loop its timer fires the ten requests in one burst, and a retransmission lost on
 * the way is never asked for again. Its single
 * sequence space per receiver also mixes the layers of a simulcast publish. liverec keeps one requester per SSRC and
 * asks again by time, for as long as the recording still waits for the packet.
 */

import { Buffer } from "node:buffer";
import type { RTCRtpReceiver, RtpPacket } from "werift";
import { genericNack, NackRequester } from "../rtp/mod.ts";
import type { Clock } from "../shared/clock.ts";

/** How often the missing packets are looked at while there are any. */
const TICK_MS = 10;
const NACK_OPTIONS = {
  /** A retransmission on loopback or a LAN comes back in a few ms; 40 ms leaves room for a busy publisher or box. */
  retryIntervalMs: 40,
  /** Below the 1000 ms the recorder's reorder buffer waits for a gap (src/recorder/pipeline.ts). */
  maxAgeMs: 900,
  maxMissing: 500,
};

/** The part of werift's receiver-side NACK handler that its RTCRtpReceiver calls. */
interface WeriftNack {
  addPacket(packet: RtpPacket): void;
  close(): void;
}

/** Makes `receiver` ask for its lost video packets through liverec's requester; `onNack` hears each NACK sent. */
export function useOwnNack(receiver: RTCRtpReceiver, clock: Clock, onNack: () => void): void {
  const requesters = new Map<number, NackRequester>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let closed = false;

  const send = () => {
    const nowMs = clock.nowMs();
    const packets: { serialize(): Buffer }[] = [];
    let missing = 0;
    for (const [ssrc, requester] of requesters) {
      const due = requester.due(nowMs);
      missing += requester.missingCount;
      if (due.length === 0) continue;
      const bytes = genericNack(receiver.rtcpSsrc, ssrc, due);
      packets.push({ serialize: () => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
    }
    for (let i = 0; i < packets.length; i++) onNack();
    if (packets.length > 0) receiver.dtlsTransport.sendRtcp(packets as never).catch(() => {});
    if (missing === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  const nack: WeriftNack = {
    addPacket(packet) {
      if (closed) return;
      const { ssrc, sequenceNumber } = packet.header;
      let requester = requesters.get(ssrc);
      if (requester === undefined) requesters.set(ssrc, requester = new NackRequester(NACK_OPTIONS));
      if (requester.arrived(sequenceNumber, clock.nowMs()) === 0) return;
      send();
      timer ??= setInterval(send, TICK_MS);
    },
    close() {
      closed = true;
      clearInterval(timer);
      requesters.clear();
    },
  };
  (receiver as unknown as { nack: WeriftNack }).nack = nack;
}
