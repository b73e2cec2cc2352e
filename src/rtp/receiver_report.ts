/**
 * What a receiver tells a sender about one RTP stream (RFC 3550 §6.4.2): losses, interarrival jitter and the
 * timing of the sender's last report, from which the sender computes the round trip. The arithmetic follows RFC 3550
 * Appendix A.3 (losses) and A.8 (jitter). Pure: the caller passes arrival times.
 */

import { SequenceUnwrapper } from "./unwrap.ts";

/** One report block of a receiver report (RFC 3550 §6.4.1), as numbers ready to serialize. */
export interface ReportBlock {
  ssrc: number;
  /** Packets lost since the previous report, over those expected, in 1/256ths (8 bits). */
  fractionLost: number;
  /** Packets expected and not received since the stream began (24 bits signed: duplicates can make it negative). */
  cumulativeLost: number;
  /** Highest sequence number received, with the count of wraps in the high 16 bits. */
  extendedHighestSequence: number;
  /** Interarrival jitter in RTP ticks. */
  jitterTicks: number;
  /** The middle 32 bits of the last sender report's NTP timestamp; 0 before any. */
  lastSenderReport: number;
  /** Time since that report arrived, in 1/65536 s; 0 before any. */
  delaySinceLastSenderReport: number;
}

const MAX_CUMULATIVE_LOST = 0x7f_ffff;
const MIN_CUMULATIVE_LOST = -0x80_0000;
const TIMESTAMP_RANGE = 0x1_0000_0000;

/** Reception statistics of one SSRC. */
export class ReceptionStats {
  readonly ssrc: number;
  readonly #ticksPerMs: number;
  readonly #sequences = new SequenceUnwrapper();
  #baseSequence: number | undefined;
  #highestSequence = 0;
  #received = 0;
  #expectedPrior = 0;
  #receivedPrior = 0;
  /** Relative transit time of the last packet, in ticks (A.8); undefined before the first. */
  #lastTransitTicks: number | undefined;
  #jitterTicks = 0;
  #lastSenderReport: { middle32: number; arrivalMs: number } | undefined;

  constructor(ssrc: number, clockRate: number) {
    this.ssrc = ssrc;
    this.#ticksPerMs = clockRate / 1000;
  }

  /**
   * Counts a packet as sent by the stream's SSRC. Retransmissions (RTX, RFC 4588) are not counted: the losses
   * reported are those of the network, before recovery, as libwebrtc reports them.
   */
  received(sequenceNumber: number, rtpTimestamp: number, arrivalMs: number): void {
    const extended = this.#sequences.unwrap(sequenceNumber);
    this.#received++;
    if (this.#baseSequence === undefined) {
      this.#baseSequence = extended;
      this.#highestSequence = extended;
    } else {
      this.#baseSequence = Math.min(this.#baseSequence, extended);
      this.#highestSequence = Math.max(this.#highestSequence, extended);
    }
    const transitTicks = arrivalMs * this.#ticksPerMs - rtpTimestamp;
    if (this.#lastTransitTicks !== undefined) {
      // The timestamps are 32-bit: a difference across their wrap is brought back near 0.
      let delta = (transitTicks - this.#lastTransitTicks) % TIMESTAMP_RANGE;
      if (delta >= TIMESTAMP_RANGE / 2) delta -= TIMESTAMP_RANGE;
      if (delta < -TIMESTAMP_RANGE / 2) delta += TIMESTAMP_RANGE;
      this.#jitterTicks += (Math.abs(delta) - this.#jitterTicks) / 16;
    }
    this.#lastTransitTicks = transitTicks;
  }

  /** Notes a sender report of this SSRC: `ntpTimestamp` as sent (64 bits), `arrivalMs` when it came. */
  senderReport(ntpTimestamp: bigint, arrivalMs: number): void {
    this.#lastSenderReport = { middle32: Number((ntpTimestamp >> 16n) & 0xffff_ffffn), arrivalMs };
  }

  /** The report block for now; undefined before the first packet. Starts the next interval of `fractionLost`. */
  reportBlock(nowMs: number): ReportBlock | undefined {
    if (this.#baseSequence === undefined) return undefined;
    const expected = this.#highestSequence - this.#baseSequence + 1;
    const expectedInterval = expected - this.#expectedPrior;
    const receivedInterval = this.#received - this.#receivedPrior;
    const lostInterval = expectedInterval - receivedInterval;
    this.#expectedPrior = expected;
    this.#receivedPrior = this.#received;
    const report = this.#lastSenderReport;
    return {
      ssrc: this.ssrc,
      fractionLost: expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.floor(lostInterval * 256 / expectedInterval),
      cumulativeLost: Math.max(MIN_CUMULATIVE_LOST, Math.min(MAX_CUMULATIVE_LOST, expected - this.#received)),
      extendedHighestSequence: this.#highestSequence >>> 0,
      jitterTicks: Math.floor(this.#jitterTicks),
      lastSenderReport: report?.middle32 ?? 0,
      delaySinceLastSenderReport: report === undefined
        ? 0
        : Math.max(0, Math.round((nowMs - report.arrivalMs) * 65536 / 1000)),
    };
  }
}

/** A receiver report (RFC 3550 §6.4.2, PT 201) from `senderSsrc` carrying `blocks` (at most 31). */
export function receiverReport(senderSsrc: number, blocks: readonly ReportBlock[]): Uint8Array {
  const count = Math.min(blocks.length, 31);
  const bytes = new Uint8Array(8 + 24 * count);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, 0x80 | count);
  view.setUint8(1, 201);
  view.setUint16(2, bytes.length / 4 - 1);
  view.setUint32(4, senderSsrc);
  for (let i = 0; i < count; i++) {
    const block = blocks[i]!;
    const at = 8 + 24 * i;
    view.setUint32(at, block.ssrc);
    view.setUint32(at + 4, ((block.fractionLost & 0xff) << 24 | (block.cumulativeLost & 0xff_ffff)) >>> 0);
    view.setUint32(at + 8, block.extendedHighestSequence >>> 0);
    view.setUint32(at + 12, block.jitterTicks >>> 0);
    view.setUint32(at + 16, block.lastSenderReport >>> 0);
    view.setUint32(at + 20, block.delaySinceLastSenderReport >>> 0);
  }
  return bytes;
}

/** The sender information of a sender report (RFC 3550 §6.4.1). */
export interface SenderInfo {
  ssrc: number;
  /** The 64-bit NTP timestamp (RFC 5905 §6) as sent. */
  ntpTimestamp: bigint;
  /** The same instant in the stream's RTP clock. */
  rtpTimestamp: number;
}

/**
 * The sender reports (PT 200) in a plain compound RTCP packet (RFC 3550 §6.1); other packets are skipped, and so is
 * whatever follows a packet whose length runs past the end.
 */
export function senderReports(bytes: Uint8Array): SenderInfo[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reports: SenderInfo[] = [];
  for (let at = 0; at + 4 <= bytes.length;) {
    const end = at + 4 * (view.getUint16(at + 2) + 1);
    if (view.getUint8(at) >> 6 !== 2 || end > bytes.length) break;
    if (view.getUint8(at + 1) === 200 && end - at >= 28) {
      reports.push({
        ssrc: view.getUint32(at + 4),
        ntpTimestamp: view.getBigUint64(at + 8),
        rtpTimestamp: view.getUint32(at + 16),
      });
    }
    at = end;
  }
  return reports;
}
