/**
 * Splits one AV1 temporal unit into RTP payloads (AV1 RTP spec §4.4, §4.5, §5), for the test publisher and
 * round-trip tests. Temporal delimiter and tile list OBUs are dropped, obu_has_size_field is cleared, OBUs are
 * aggregated up to `mtu` and fragmented with Z/Y past it; a sequence header and a change of temporal or spatial
 * layer start a new packet. It writes payloads, not RTP headers: the caller sets the marker on the last one. It
 * writes no Dependency Descriptor.
 */

import {
  isRandomAccessPoint,
  leb128SizeBytes,
  type Obu,
  ObuType,
  splitObus,
  unsizedHeader,
  writeLeb128,
} from "./obu.ts";
import { BadRequestError } from "../../shared/errors.ts";

/** How to packetize; `mtu` bounds each payload in bytes (the RTP header is not included). */
export interface Av1PacketizerOptions {
  /** Largest payload in bytes; default 1200. */
  mtu?: number;
  /**
   * Set W to the element count and leave out the last element's length when a packet has 1 to 3 elements
   * (default true, as libwebrtc does); false writes W = 0 and a length before every element.
   */
  omitLastLength?: boolean;
}

interface PendingPacket {
  /** Z: the first element continues an OBU from the previous packet. */
  continues: boolean;
  /** Y: the last element continues in the next packet. */
  willContinue: boolean;
  elements: Uint8Array[];
  /** Bytes so far, counting a length field before every element. */
  sizeBytes: number;
  /** temporal_id and spatial_id bits of the first OBU with an extension header, if any. */
  layer: number | undefined;
}

/**
 * RTP payloads for one temporal unit in the low-overhead format (an IVF frame or an MP4 sample), in order. Throws
 * BadRequestError for a bad mtu, OBUs that do not parse, or a temporal unit with nothing to send.
 */
export function packetizeAv1(
  temporalUnit: Uint8Array,
  { mtu = 1200, omitLastLength = true }: Av1PacketizerOptions = {},
): Uint8Array[] {
  if (!Number.isInteger(mtu) || mtu < 3) throw new BadRequestError(`AV1 packetizer: mtu must be 3 or more, got ${mtu}`);
  const obus = splitObus(temporalUnit).filter((obu) =>
    obu.type !== ObuType.TemporalDelimiter && obu.type !== ObuType.TileList
  );
  if (obus.length === 0) throw new BadRequestError("AV1 packetizer: the temporal unit has no OBU to send");

  const packets: PendingPacket[] = [];
  let packet = newPacket(false);
  const close = (continues: boolean) => {
    packets.push(packet);
    packet = newPacket(continues);
  };
  for (const obu of obus) {
    const layer = obu.header.length === 2 ? obu.header[1]! & 0xf8 : undefined;
    const otherLayer = layer !== undefined && packet.layer !== undefined && layer !== packet.layer;
    if (packet.elements.length > 0 && (obu.type === ObuType.SequenceHeader || otherLayer)) close(false);
    if (layer !== undefined) packet.layer ??= layer;
    const element = withHeader(obu);
    let offset = 0;
    while (offset < element.length) {
      const freeBytes = mtu - packet.sizeBytes;
      const remaining = element.length - offset;
      if (leb128SizeBytes(remaining) + remaining <= freeBytes) {
        packet.elements.push(element.subarray(offset));
        packet.sizeBytes += leb128SizeBytes(remaining) + remaining;
        break;
      }
      // A length field for a chunk of at most freeBytes takes at most leb128SizeBytes(freeBytes) bytes.
      const chunkBytes = freeBytes - leb128SizeBytes(freeBytes);
      if (chunkBytes >= 1) {
        packet.elements.push(element.subarray(offset, offset + chunkBytes));
        packet.willContinue = true;
        offset += chunkBytes;
      }
      close(offset > 0);
      if (layer !== undefined) packet.layer = layer;
    }
  }
  if (packet.elements.length > 0) packets.push(packet);
  const newSequence = isRandomAccessPoint(obus);
  return packets.map((p, i) => serialize(p, newSequence && i === 0, omitLastLength));
}

function newPacket(continues: boolean): PendingPacket {
  return { continues, willContinue: false, elements: [], sizeBytes: 1, layer: undefined };
}

/** The OBU as RTP carries it: header with obu_has_size_field = 0, then the payload. */
function withHeader(obu: Obu): Uint8Array {
  const header = unsizedHeader(obu);
  const element = new Uint8Array(header.length + obu.payload.length);
  element.set(header);
  element.set(obu.payload, header.length);
  return element;
}

/** Aggregation header (Z, Y, W, N) and the elements, each after its leb128 length but the last when W != 0. */
function serialize(packet: PendingPacket, newSequence: boolean, omitLastLength: boolean): Uint8Array {
  const count = packet.elements.length;
  const w = omitLastLength && count <= 3 ? count : 0;
  let sizeBytes = 1;
  packet.elements.forEach((element, i) => {
    sizeBytes += (w !== 0 && i === count - 1 ? 0 : leb128SizeBytes(element.length)) + element.length;
  });
  const out = new Uint8Array(sizeBytes);
  out[0] = (packet.continues ? 0x80 : 0) | (packet.willContinue ? 0x40 : 0) | (w << 4) | (newSequence ? 0x08 : 0);
  let offset = 1;
  packet.elements.forEach((element, i) => {
    if (w === 0 || i < count - 1) offset = writeLeb128(out, offset, element.length);
    out.set(element, offset);
    offset += element.length;
  });
  return out;
}
