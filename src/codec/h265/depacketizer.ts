/**
 * Reassembles H.265 access units from ordered RTP packets (RFC 7798, single RTP stream, no DONL: single NAL unit
 * packets, aggregation packets and fragmentation units) and returns them as MP4 samples. Anything that makes an
 * access unit incomplete (a loss, a fragment without its start, a malformed packet) drops it and every following one
 * until an IRAP picture, so the output always decodes; RASL pictures that cannot be decoded after such a restart
 * are dropped too. PACI packets are not unpacked. It never throws; problems are counted in `stats`.
 */

import type { Depacketizer, DepacketizerStats, Frame } from "../codec.ts";
import type { ReorderOutput } from "../../rtp/mod.ts";
import { isIrap, isParameterSet, isVcl, NalType, nalType, startsPicture, temporalIdPlus1 } from "./nal.ts";
import { toLengthPrefixed } from "../nal_units.ts";

/** Counters since construction. */
export interface H265DepacketizerStats extends DepacketizerStats {
  /**
   * Packets of the payload types RFC 7798 gives no meaning here: PACI (50), whose frame is then dropped because its
   * content is not unpacked, and the unspecified types 51..63, which are skipped.
   */
  ignoredPackets: number;
}

/** Limits for untrusted streams. */
export interface H265DepacketizerOptions {
  /** A frame growing beyond this many sample bytes is dropped (a sender that never ends one); default 16 MiB. */
  maxFrameBytes?: number;
}

interface PendingAccessUnit {
  timestamp: number;
  nalUnits: Uint8Array[];
  /** Size of the sample so far: 4 + length per NAL unit. */
  sizeBytes: number;
  /** Something inside is missing or corrupt; it will be dropped. */
  broken: boolean;
  /** Packets were lost just before it, so its first packets may be missing too. */
  startsAfterLoss: boolean;
}

interface PendingFragment {
  /** nal_unit_type of the NAL unit being rebuilt. */
  fuType: number;
  /** First byte of the rebuilt NAL unit header: FuType with F and the LayerId high bit of the payload header. */
  header0: number;
  /** Second byte: LayerId and TID of the payload header. */
  header1: number;
  chunks: Uint8Array[];
  sizeBytes: number;
}

const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Far above the 600 slice segments of level 6.2 (ITU-T H.265 Table A.8) plus parameter sets and SEI. */
const MAX_NAL_UNITS_PER_FRAME = 4096;

/** RTP payloads of one H.265 stream to frames of 4-byte length-prefixed NAL units (RFC 7798 §4.4.1-§4.4.3). */
export class H265Depacketizer implements Depacketizer {
  /** Counters since construction. */
  readonly stats: H265DepacketizerStats = {
    frames: 0,
    droppedFrames: 0,
    malformedPackets: 0,
    lostPackets: 0,
    ignoredPackets: 0,
  };
  readonly #maxFrameBytes: number;
  #accessUnit: PendingAccessUnit | undefined;
  #fragment: PendingFragment | undefined;
  #waitingForKeyframe = true;
  #lossBeforeNextPacket = false;
  /** Decoding (re)started at the last IRAP, so its RASL pictures reference pictures we never had (§8.1.3). */
  #skipRasl = false;
  /** An end of sequence or bitstream NAL unit was emitted: the next IRAP starts afresh (§7.4.2.4.4, §8.1.3). */
  #sequenceEnded = false;
  /** Most recent complete parameter sets, by type (VPS, SPS, PPS). */
  readonly #lastParameterSets = new Map<number, Uint8Array>();

  constructor(options: H265DepacketizerOptions = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** True until an intact IRAP access unit arrives, and again after any loss or corruption. */
  get waitingForKeyframe(): boolean {
    return this.#waitingForKeyframe;
  }

  /** Takes the next packet or loss in sequence order; returns the frames it completes. */
  push(input: ReorderOutput): Frame[] {
    const out: Frame[] = [];
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

  /** Ends the stream: returns the pending frame if it is intact. */
  flush(): Frame[] {
    const out: Frame[] = [];
    this.#finish(out);
    return out;
  }

  #onLoss(count: number): void {
    this.stats.lostPackets += count;
    if (this.#accessUnit !== undefined) this.#accessUnit.broken = true;
    this.#fragment = undefined;
    this.#lossBeforeNextPacket = true;
    this.#waitingForKeyframe = true;
  }

  /** The payload header is a NAL unit header (RFC 7798 §4.4): F must be 0 and TID non-zero. */
  #readPayload(payload: Uint8Array, accessUnit: PendingAccessUnit): void {
    if (!validHeader(payload)) return this.#malformed(accessUnit);
    const type = nalType(payload);
    if (type < NalType.Ap) {
      this.#interruptFragment(accessUnit);
      this.#addNalUnit(payload, accessUnit);
    } else if (type === NalType.Ap) {
      this.#interruptFragment(accessUnit);
      this.#readAggregationPacket(payload, accessUnit);
    } else if (type === NalType.Fu) {
      this.#readFragmentationUnit(payload, accessUnit);
    } else if (type === NalType.Paci) {
      this.stats.ignoredPackets++;
      this.#interruptFragment(accessUnit);
      accessUnit.broken = true; // it carries NAL units (or parts of them) that we do not unpack
    } else {
      this.stats.ignoredPackets++;
    }
  }

  /** AP (RFC 7798 §4.4.2): 16-bit NALU size, then a NAL unit, repeated; without DONL/DOND; all or nothing. */
  #readAggregationPacket(payload: Uint8Array, accessUnit: PendingAccessUnit): void {
    const nalUnits: Uint8Array[] = [];
    let offset = 2;
    while (offset < payload.length) {
      if (offset + 2 > payload.length) return this.#malformed(accessUnit);
      const size = (payload[offset]! << 8) | payload[offset + 1]!;
      offset += 2;
      if (offset + size > payload.length) return this.#malformed(accessUnit);
      const nal = payload.subarray(offset, offset + size);
      if (!validHeader(nal) || nalType(nal) >= NalType.Ap) return this.#malformed(accessUnit);
      nalUnits.push(nal);
      offset += size;
    }
    // §4.4.2 asks for at least two aggregation units; a lone one is harmless and accepted.
    if (nalUnits.length === 0) return this.#malformed(accessUnit);
    for (const nal of nalUnits) this.#addNalUnit(nal, accessUnit);
  }

  /** FU (RFC 7798 §4.4.3): payload header (type 49), FU header (S, E, FuType), then a slice of the NAL unit body. */
  #readFragmentationUnit(payload: Uint8Array, accessUnit: PendingAccessUnit): void {
    const fuHeader = payload[2];
    if (fuHeader === undefined) return this.#malformed(accessUnit);
    const start = (fuHeader & 0x80) !== 0;
    const end = (fuHeader & 0x40) !== 0;
    const fuType = fuHeader & 0x3f;
    if ((start && end) || fuType >= NalType.Ap) return this.#malformed(accessUnit);
    const chunk = payload.subarray(3);
    if (start) {
      this.#interruptFragment(accessUnit);
      this.#fragment = {
        fuType,
        header0: (payload[0]! & 0x81) | (fuType << 1),
        header1: payload[1]!,
        chunks: [chunk],
        sizeBytes: 2 + chunk.length,
      };
    } else if (this.#fragment === undefined || this.#fragment.fuType !== fuType) {
      // A middle or end without its start (lost, or a sender bug): the NAL unit cannot be rebuilt.
      accessUnit.broken = true;
      this.#fragment = undefined;
      return;
    } else {
      this.#fragment.chunks.push(chunk);
      this.#fragment.sizeBytes += chunk.length;
    }
    if (accessUnit.sizeBytes + 4 + this.#fragment.sizeBytes > this.#maxFrameBytes) {
      accessUnit.broken = true;
      this.#fragment = undefined;
      return;
    }
    if (end) {
      this.#addNalUnit(joinFragment(this.#fragment), accessUnit);
      this.#fragment = undefined;
    }
  }

  /** A new NAL unit starts while an FU is unfinished: its end never came. */
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
    if (isParameterSet(nal)) this.#lastParameterSets.set(nalType(nal), nal.slice());
    if (accessUnit.broken) return;
    accessUnit.sizeBytes += 4 + nal.length;
    if (accessUnit.sizeBytes > this.#maxFrameBytes || accessUnit.nalUnits.length >= MAX_NAL_UNITS_PER_FRAME) {
      accessUnit.broken = true;
      accessUnit.nalUnits = [];
      return;
    }
    accessUnit.nalUnits.push(nal);
  }

  #finish(out: Frame[]): void {
    const accessUnit = this.#accessUnit;
    if (accessUnit === undefined) return;
    this.#accessUnit = undefined;
    this.#interruptFragment(accessUnit);
    const firstVcl = accessUnit.nalUnits.find(isVcl);
    if (!accessUnit.broken && firstVcl === undefined) return; // parameter sets or SEI only: nothing to decode
    // After a loss, an access unit whose first slice segment does not begin the picture has lost its start.
    const lostStart = accessUnit.startsAfterLoss && firstVcl !== undefined && !startsPicture(firstVcl);
    if (accessUnit.broken || firstVcl === undefined || lostStart) return this.#drop(true);
    const keyframe = isIrap(firstVcl);
    if (this.#waitingForKeyframe && !keyframe) return this.#drop(false);
    const type = nalType(firstVcl);
    if (keyframe) {
      this.#skipRasl = this.#waitingForKeyframe || this.#sequenceEnded || type <= NalType.BlaNLp;
      this.#sequenceEnded = false;
    } else if (this.#skipRasl && (type === NalType.RaslN || type === NalType.RaslR)) {
      return this.#drop(false);
    }
    this.#waitingForKeyframe = false;
    this.stats.frames++;
    const types = accessUnit.nalUnits.map(nalType);
    if (types.includes(NalType.EndOfSequence) || types.includes(NalType.EndOfBitstream)) this.#sequenceEnded = true;
    const kept = accessUnit.nalUnits.filter((_, i) => types[i] !== NalType.Aud && types[i] !== NalType.Filler);
    const nalUnits = keyframe ? this.#withParameterSets(kept) : kept;
    out.push({ timestamp: accessUnit.timestamp, keyframe, data: toLengthPrefixed(nalUnits) });
  }

  #drop(waitForKeyframe: boolean): void {
    this.stats.droppedFrames++;
    if (waitForKeyframe) this.#waitingForKeyframe = true;
  }

  /**
   * Adds the remembered VPS, SPS and PPS a keyframe lacks, each before the first NAL unit that needs it (a later
   * parameter set type or the first slice segment), so that VPS, SPS, PPS and slices keep their order (§7.4.2.4.4).
   */
  #withParameterSets(nalUnits: Uint8Array[]): Uint8Array[] {
    const units = [...nalUnits];
    for (const type of [NalType.Vps, NalType.Sps, NalType.Pps]) {
      const remembered = this.#lastParameterSets.get(type);
      if (remembered === undefined || units.some((nal) => nalType(nal) === type)) continue;
      const before = units.findIndex((nal) => isVcl(nal) || (isParameterSet(nal) && nalType(nal) > type));
      units.splice(before, 0, remembered);
    }
    return units;
  }
}

function validHeader(nal: Uint8Array): boolean {
  return nal.length >= 2 && (nal[0]! & 0x80) === 0 && temporalIdPlus1(nal) !== 0;
}

function joinFragment(fragment: PendingFragment): Uint8Array {
  const nal = new Uint8Array(fragment.sizeBytes);
  nal[0] = fragment.header0;
  nal[1] = fragment.header1;
  let offset = 2;
  for (const chunk of fragment.chunks) {
    nal.set(chunk, offset);
    offset += chunk.length;
  }
  return nal;
}
