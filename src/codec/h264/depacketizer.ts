/**
 * Reassembles H.264 access units from ordered RTP packets (RFC 6184, packetization modes 0 and 1: single NAL unit,
 * STAP-A, FU-A). Anything that makes an access unit incomplete (a loss, a fragment without its start, a malformed
 * aggregate) drops that access unit and every following one until an IDR, so the output always decodes. It never
 * throws; problems are counted in `stats`. Interleaved mode (STAP-B, MTAP, FU-B) is not supported.
 */

import { isKeyframe, NalType, nalType } from "./nal.ts";
import type { ReorderOutput } from "../../rtp/mod.ts";

/** One coded picture with its NAL units in decoding order (ITU-T H.264 §7.4.1.2.3), without start codes. */
export interface AccessUnit {
  /** RTP timestamp (90 kHz ticks) of the packets, the 32-bit value as sent. */
  timestamp: number;
  /** NAL units; single-NAL and STAP-A units are views into the packet payloads. */
  nalUnits: Uint8Array[];
  /** Contains an IDR slice; keyframes carry SPS and PPS (added from earlier packets when they were sent apart). */
  keyframe: boolean;
}

/** Counters since construction. */
export interface H264DepacketizerStats {
  /** Access units emitted. */
  accessUnits: number;
  /** Access units dropped: incomplete or corrupt, or not decodable while waiting for a keyframe. */
  droppedAccessUnits: number;
  /** Packets that break RFC 6184 (empty, forbidden bit, bad STAP-A sizes, FU-A with S and E, interleaved types). */
  malformedPackets: number;
  /** Packets reported lost by the reorder buffer. */
  lostPackets: number;
  /** Packets of NAL unit types 0, 30 and 31, which RFC 6184 §5.2 leaves undefined and receivers ignore. */
  ignoredPackets: number;
}

/** Limits for untrusted streams. */
export interface H264DepacketizerOptions {
  /** An access unit growing beyond this is dropped (a sender that never ends one); default 16 MiB. */
  maxAccessUnitBytes?: number;
}

interface PendingAccessUnit {
  timestamp: number;
  nalUnits: Uint8Array[];
  sizeBytes: number;
  /** Something inside is missing or corrupt; it will be dropped. */
  broken: boolean;
  /** Packets were lost just before it, so its first packets may be missing too. */
  startsAfterLoss: boolean;
}

interface PendingFragment {
  /** Header byte of the reassembled NAL unit: F and NRI of the FU indicator, type of the FU header. */
  header: number;
  chunks: Uint8Array[];
  sizeBytes: number;
}

const DEFAULT_MAX_ACCESS_UNIT_BYTES = 16 * 1024 * 1024;

/** RTP payloads of one H.264 stream to access units (RFC 6184 §5.6, §5.7.1, §5.8). */
export class H264Depacketizer {
  /** Counters since construction. */
  readonly stats: H264DepacketizerStats = {
    accessUnits: 0,
    droppedAccessUnits: 0,
    malformedPackets: 0,
    lostPackets: 0,
    ignoredPackets: 0,
  };
  readonly #maxAccessUnitBytes: number;
  #accessUnit: PendingAccessUnit | undefined;
  #fragment: PendingFragment | undefined;
  #waitingForKeyframe = true;
  #lossBeforeNextPacket = false;
  #lastSps: Uint8Array | undefined;
  #lastPps: Uint8Array | undefined;

  constructor(options: H264DepacketizerOptions = {}) {
    this.#maxAccessUnitBytes = options.maxAccessUnitBytes ?? DEFAULT_MAX_ACCESS_UNIT_BYTES;
  }

  /** True until an intact IDR access unit arrives, and again after any loss or corruption. */
  get waitingForKeyframe(): boolean {
    return this.#waitingForKeyframe;
  }

  /** The most recent complete SPS NAL unit seen, if any. */
  get lastSps(): Uint8Array | undefined {
    return this.#lastSps;
  }

  /** The most recent complete PPS NAL unit seen, if any. */
  get lastPps(): Uint8Array | undefined {
    return this.#lastPps;
  }

  /** Takes the next packet or loss in sequence order; returns the access units it completes. */
  push(input: ReorderOutput): AccessUnit[] {
    const out: AccessUnit[] = [];
    if (input.type === "loss") {
      this.#onLoss(input.count);
      return out;
    }
    const { payload, timestamp, marker } = input.packet;
    if (this.#accessUnit !== undefined && this.#accessUnit.timestamp !== timestamp) this.#finish(out);
    const accessUnit = this.#accessUnit ??= {
      timestamp,
      nalUnits: [],
      sizeBytes: 0,
      broken: false,
      startsAfterLoss: this.#lossBeforeNextPacket,
    };
    this.#lossBeforeNextPacket = false;
    this.#readPayload(payload, accessUnit);
    if (marker) this.#finish(out);
    return out;
  }

  /** Ends the stream: emits the pending access unit if it is intact. */
  flush(): AccessUnit[] {
    const out: AccessUnit[] = [];
    if (this.#accessUnit !== undefined) this.#finish(out);
    return out;
  }

  #onLoss(count: number): void {
    this.stats.lostPackets += count;
    if (this.#accessUnit !== undefined) this.#accessUnit.broken = true;
    this.#fragment = undefined;
    this.#lossBeforeNextPacket = true;
    this.#waitingForKeyframe = true;
  }

  #readPayload(payload: Uint8Array, accessUnit: PendingAccessUnit): void {
    const header = payload[0];
    if (header === undefined || (header & 0x80) !== 0) return this.#malformed(accessUnit);
    const type = header & 0x1f;
    if (type >= 1 && type <= 23) {
      this.#interruptFragment(accessUnit);
      this.#addNalUnit(payload, accessUnit);
    } else if (type === NalType.StapA) {
      this.#interruptFragment(accessUnit);
      this.#readStapA(payload, accessUnit);
    } else if (type === NalType.FuA) {
      this.#readFuA(payload, accessUnit);
    } else if (type === 0 || type === 30 || type === 31) {
      this.stats.ignoredPackets++;
    } else {
      this.#malformed(accessUnit); // STAP-B, MTAP16, MTAP24, FU-B: interleaved mode only.
    }
  }

  /** STAP-A (RFC 6184 §5.7.1): 16-bit size, then a NAL unit, repeated; all or nothing. */
  #readStapA(payload: Uint8Array, accessUnit: PendingAccessUnit): void {
    const nalUnits: Uint8Array[] = [];
    let offset = 1;
    while (offset < payload.length) {
      if (offset + 2 > payload.length) return this.#malformed(accessUnit);
      const size = (payload[offset]! << 8) | payload[offset + 1]!;
      offset += 2;
      if (size === 0 || offset + size > payload.length) return this.#malformed(accessUnit);
      const nal = payload.subarray(offset, offset + size);
      const type = nalType(nal);
      if ((nal[0]! & 0x80) !== 0 || type === 0 || type > 23) return this.#malformed(accessUnit);
      nalUnits.push(nal);
      offset += size;
    }
    if (nalUnits.length === 0) return this.#malformed(accessUnit);
    for (const nal of nalUnits) this.#addNalUnit(nal, accessUnit);
  }

  /** FU-A (RFC 6184 §5.8): FU indicator, FU header (S, E, R, type), then a fragment of the NAL unit body. */
  #readFuA(payload: Uint8Array, accessUnit: PendingAccessUnit): void {
    const indicator = payload[0]!;
    const fuHeader = payload[1];
    if (fuHeader === undefined) return this.#malformed(accessUnit);
    const start = (fuHeader & 0x80) !== 0;
    const end = (fuHeader & 0x40) !== 0;
    const type = fuHeader & 0x1f;
    if ((start && end) || type === 0 || type > 23) return this.#malformed(accessUnit);
    const chunk = payload.subarray(2);
    if (start) {
      this.#interruptFragment(accessUnit);
      this.#fragment = { header: (indicator & 0xe0) | type, chunks: [chunk], sizeBytes: 1 + chunk.length };
    } else if (this.#fragment === undefined || (this.#fragment.header & 0x1f) !== type) {
      // A middle or end without its start (lost, or a sender bug): the NAL unit cannot be rebuilt.
      accessUnit.broken = true;
      this.#fragment = undefined;
      return;
    } else {
      this.#fragment.chunks.push(chunk);
      this.#fragment.sizeBytes += chunk.length;
    }
    if (this.#fragment.sizeBytes + accessUnit.sizeBytes > this.#maxAccessUnitBytes) {
      accessUnit.broken = true;
      this.#fragment = undefined;
      return;
    }
    if (end) {
      this.#addNalUnit(concat(this.#fragment.header, this.#fragment.chunks, this.#fragment.sizeBytes), accessUnit);
      this.#fragment = undefined;
    }
  }

  /** A new NAL unit starts while an FU-A is unfinished: its end never came. */
  #interruptFragment(accessUnit: PendingAccessUnit): void {
    if (this.#fragment === undefined) return;
    accessUnit.broken = true;
    this.#fragment = undefined;
  }

  #malformed(accessUnit: PendingAccessUnit): void {
    this.stats.malformedPackets++;
    accessUnit.broken = true;
    this.#fragment = undefined;
  }

  #addNalUnit(nal: Uint8Array, accessUnit: PendingAccessUnit): void {
    const type = nalType(nal);
    if (type === NalType.Sps) this.#lastSps = nal;
    if (type === NalType.Pps) this.#lastPps = nal;
    if (accessUnit.broken) return;
    accessUnit.sizeBytes += nal.length;
    if (accessUnit.sizeBytes > this.#maxAccessUnitBytes) {
      accessUnit.broken = true;
      accessUnit.nalUnits = [];
      return;
    }
    accessUnit.nalUnits.push(nal);
  }

  #finish(out: AccessUnit[]): void {
    const accessUnit = this.#accessUnit;
    if (accessUnit === undefined) return;
    this.#accessUnit = undefined;
    this.#interruptFragment(accessUnit);
    const firstSlice = accessUnit.nalUnits.find(isSlice);
    if (!accessUnit.broken && firstSlice === undefined) return; // parameter sets or SEI only: nothing to decode
    // After a loss, an access unit whose first slice is not at macroblock 0 has lost its beginning (§7.4.3).
    const lostStart = accessUnit.startsAfterLoss && firstSlice !== undefined && !startsPicture(firstSlice);
    if (accessUnit.broken || lostStart) {
      this.stats.droppedAccessUnits++;
      this.#waitingForKeyframe = true;
      return;
    }
    const keyframe = isKeyframe(accessUnit.nalUnits);
    if (this.#waitingForKeyframe && !keyframe) {
      this.stats.droppedAccessUnits++;
      return;
    }
    this.#waitingForKeyframe = false;
    this.stats.accessUnits++;
    const nalUnits = keyframe ? this.#withParameterSets(accessUnit.nalUnits) : accessUnit.nalUnits;
    out.push({ timestamp: accessUnit.timestamp, nalUnits, keyframe });
  }

  /** Adds the remembered SPS/PPS a keyframe lacks: SPS before its PPS, PPS after its SPS, after any AUD (§7.4.1.2.3). */
  #withParameterSets(nalUnits: Uint8Array[]): Uint8Array[] {
    const units = [...nalUnits];
    const indexOf = (type: number) => units.findIndex((nal) => nalType(nal) === type);
    const afterAud = nalType(units[0]!) === NalType.Aud ? 1 : 0;
    if (this.#lastSps !== undefined && indexOf(NalType.Sps) < 0) {
      const firstPps = indexOf(NalType.Pps);
      units.splice(firstPps >= 0 ? firstPps : afterAud, 0, this.#lastSps);
    }
    if (this.#lastPps !== undefined && indexOf(NalType.Pps) < 0) {
      const lastSps = units.findLastIndex((nal) => nalType(nal) === NalType.Sps);
      units.splice(lastSps >= 0 ? lastSps + 1 : afterAud, 0, this.#lastPps);
    }
    return units;
  }
}

/** VCL NAL unit types 1..5 (§7.4.1.2.2). */
function isSlice(nal: Uint8Array): boolean {
  const type = nalType(nal);
  return type >= NalType.Slice && type <= NalType.Idr;
}

/** first_mb_in_slice, the first ue(v) of the slice header, is 0 exactly when its first bit is 1 (§7.3.3). */
function startsPicture(slice: Uint8Array): boolean {
  return ((slice[1] ?? 0) & 0x80) !== 0;
}

function concat(header: number, chunks: Uint8Array[], sizeBytes: number): Uint8Array {
  const nal = new Uint8Array(sizeBytes);
  nal[0] = header;
  let offset = 1;
  for (const chunk of chunks) {
    nal.set(chunk, offset);
    offset += chunk.length;
  }
  return nal;
}
