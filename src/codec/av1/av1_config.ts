/**
 * Writes the AV1CodecConfigurationRecord, the body of the `av1C` box (AV1 ISOBMFF binding §2.3.3), from a sequence
 * header OBU. configOBUs holds that sequence header alone, rewritten with obu_has_size_field = 1; metadata OBUs stay
 * in the samples. initial_presentation_delay is never signalled: it needs the whole track to compute.
 */

import { type Obu, ObuType, writeSizedObus } from "./obu.ts";
import { parseSequenceHeader, type SequenceHeader } from "./sequence_header.ts";
import { BadRequestError } from "../../shared/errors.ts";

/** The av1C body for `sequenceHeader` and the fields it was built from; throws BadRequestError if it does not parse. */
export function av1CodecConfigurationRecord(sequenceHeader: Obu): { record: Uint8Array; header: SequenceHeader } {
  if (sequenceHeader.type !== ObuType.SequenceHeader) {
    throw new BadRequestError(`av1C needs a sequence header OBU, got OBU type ${sequenceHeader.type}`);
  }
  const header = parseSequenceHeader(sequenceHeader.payload);
  const configObus = writeSizedObus([sequenceHeader]);
  const record = new Uint8Array(4 + configObus.length);
  record[0] = 0x80 | 1; // marker = 1, version = 1
  record[1] = (header.seqProfile << 5) | header.seqLevelIdx0; // seq_profile (3), seq_level_idx_0 (5)
  record[2] = (header.seqTier0 << 7) | // seq_tier_0
    (Number(header.highBitdepth) << 6) | // high_bitdepth
    (Number(header.twelveBit) << 5) | // twelve_bit
    (Number(header.monochrome) << 4) | // monochrome
    (header.subsamplingX << 3) | // chroma_subsampling_x
    (header.subsamplingY << 2) | // chroma_subsampling_y
    header.chromaSamplePosition; // chroma_sample_position (2)
  record[3] = 0; // reserved (3), initial_presentation_delay_present = 0, reserved (4)
  record.set(configObus, 4); // configOBUs
  return { record, header };
}
