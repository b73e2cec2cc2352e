/**
 * Reads a publisher's SDP offer (RFC 8866) just far enough to decide what liverec can record from it: the first
 * sending video section in a codec of the codec table (the first of `video_codecs` the section offers) and the first
 * sending audio section in one. It answers nothing itself: WebRTC negotiation is werift's job. Malformed or
 * unusable offers get errors that say why.
 */

import { AUDIO_CODECS, type AudioCodec, type Codec, VIDEO_CODECS, type VideoCodec } from "../codec/mod.ts";
import { BadRequestError, UnsupportedError } from "../shared/errors.ts";

/** A codec the offer lists for one media section. */
export interface OfferedCodec {
  payloadType: number;
  name: string;
  clockRate: number;
  fmtp: Map<string, string>;
  fmtpText: string;
}

/** What liverec will record from an offer: the codec table's row and the offered payload type it answers. */
export interface OfferChoice {
  video:
    | {
      codec: VideoCodec;
      offered: OfferedCodec;
      parameterSets: Uint8Array[];
      /** The offered RTX payload type (RFC 4588) that retransmits `offered`, if any. */
      rtx: OfferedCodec | undefined;
      /** The simulcast streams' rids (RFC 8853 `a=simulcast:send`), in offer order; empty without simulcast. */
      rids: string[];
    }
    | undefined;
  audio: { codec: AudioCodec; offered: OfferedCodec } | undefined;
  /** Sections that were offered but will not be recorded, with the reason, for the log. */
  ignored: string[];
}

interface MediaSection {
  kind: string;
  /** Port 0 without `a=bundle-only`: the offerer does not want this section (RFC 8866 §5.14). */
  rejected: boolean;
  direction: string;
  codecs: OfferedCodec[];
  /** The rids of `a=simulcast:send`, paused ones (`~`) left out. */
  rids: string[];
}

const MAX_SDP_BYTES = 64 * 1024;
/** Static RTP payload types that offers may list without an rtpmap line (RFC 3551 §6). */
const STATIC_PAYLOAD_TYPES: Record<number, [name: string, clockRate: number]> = {
  0: ["pcmu", 8000],
  8: ["pcma", 8000],
  9: ["g722", 8000],
};

/**
 * Parses `sdp` and picks the tracks to record; video in the first codec of `videoCodecs` (names of the codec table)
 * that a section offers. Throws BadRequestError or UnsupportedError with the reason.
 */
export function chooseFromOffer(sdp: string, videoCodecs: readonly string[]): OfferChoice {
  const sections = parseSections(sdp);
  const choice: OfferChoice = { video: undefined, audio: undefined, ignored: [] };
  const refusals: string[] = [];
  for (const section of sections) {
    const sending = !section.rejected && (section.direction === "sendonly" || section.direction === "sendrecv");
    if (section.kind === "video" && choice.video === undefined && sending) {
      const rows = videoCodecs.flatMap((name) => VIDEO_CODECS.get(name) ?? []);
      const picked = pick(section, rows, refusals);
      if (picked !== undefined) {
        const { row: codec, offered, parameterSets } = picked;
        const rtx = section.codecs.find((c) => c.name === "rtx" && c.fmtp.get("apt") === `${offered.payloadType}`);
        choice.video = { codec, offered, parameterSets, rtx, rids: section.rids };
        continue;
      }
    }
    if (section.kind === "audio" && choice.audio === undefined && sending) {
      const picked = pick(section, [...AUDIO_CODECS.values()], refusals);
      if (picked !== undefined) {
        choice.audio = { codec: picked.row, offered: picked.offered };
        continue;
      }
    }
    const state = section.rejected ? "rejected" : section.direction;
    choice.ignored.push(`${section.kind} (${state}: ${describeCodecs(section.codecs)})`);
  }
  if (choice.video === undefined && choice.audio === undefined) {
    const offered = sections.map((s) =>
      `${s.kind} [${describeCodecs(s.codecs)}] ${s.rejected ? "rejected" : s.direction}`
    )
      .join("; ");
    const refused = refusals.length > 0 ? ` (refused: ${refusals.join(", ")})` : "";
    throw new UnsupportedError(
      `nothing to record in the offer: it has ${offered || "no media"}${refused}; liverec records sending video in ` +
        `${videoCodecs.map((name) => name.toUpperCase()).join(", ")} and audio in ` +
        `${[...AUDIO_CODECS.keys()].join(", ")}`,
    );
  }
  return choice;
}

/** The offered payload type of the first row the section has, the highest ranked of that codec's. */
function pick<C extends Codec>(
  section: MediaSection,
  rows: readonly C[],
  refusals: string[],
): { row: C; offered: OfferedCodec; parameterSets: Uint8Array[] } | undefined {
  for (const row of rows) {
    let best: { row: C; offered: OfferedCodec; parameterSets: Uint8Array[]; rank: number } | undefined;
    for (const offered of section.codecs) {
      if (offered.name !== row.sdpName || offered.clockRate !== row.clockRate) continue;
      const verdict = row.readFmtp(offered.fmtp);
      if ("refused" in verdict) refusals.push(verdict.refused);
      else if (best === undefined || verdict.rank > best.rank) best = { row, offered, ...verdict };
    }
    if (best !== undefined) return best;
  }
  return undefined;
}

function describeCodecs(codecs: OfferedCodec[]): string {
  const names = [...new Set(codecs.map((c) => c.name.toUpperCase()))];
  return names.length === 0 ? "no codecs" : names.join(", ");
}

function parseSections(sdp: string): MediaSection[] {
  if (sdp.length > MAX_SDP_BYTES) throw new BadRequestError(`malformed SDP: longer than ${MAX_SDP_BYTES} bytes`);
  const lines = sdp.split(/\r?\n/).filter((line) => line.length > 0);
  if (lines[0] !== "v=0") {
    throw new BadRequestError(
      `malformed SDP: must start with "v=0", got ${JSON.stringify(lines[0]?.slice(0, 40) ?? "")}`,
    );
  }
  const sections: MediaSection[] = [];
  let sessionDirection = "sendrecv";
  let current: (MediaSection & { fmtp: Map<number, string>; port: string; bundleOnly?: boolean }) | undefined;
  for (const [i, line] of lines.entries()) {
    if (!/^[a-z]=/.test(line)) {
      throw new BadRequestError(
        `malformed SDP: line ${i + 1} is not "<type>=<value>": ${JSON.stringify(line.slice(0, 60))}`,
      );
    }
    const value = line.slice(2);
    if (line.startsWith("m=")) {
      if (current !== undefined) sections.push(finish(current));
      const [kind, port, proto, ...formats] = value.split(" ");
      if (kind === undefined || port === undefined || proto === undefined || formats.some((f) => !/^\d+$/.test(f))) {
        throw new BadRequestError(`malformed SDP: bad media line ${JSON.stringify(line.slice(0, 80))}`);
      }
      current = {
        kind,
        port,
        rejected: false,
        rids: [],
        direction: sessionDirection,
        codecs: formats.map((f) => ({
          payloadType: Number(f),
          name: STATIC_PAYLOAD_TYPES[Number(f)]?.[0] ?? "",
          clockRate: STATIC_PAYLOAD_TYPES[Number(f)]?.[1] ?? 0,
          fmtp: new Map(),
          fmtpText: "",
        })),
        fmtp: new Map(),
      };
      continue;
    }
    if (/^a=(sendonly|recvonly|sendrecv|inactive)$/.test(line)) {
      if (current === undefined) sessionDirection = value;
      else current.direction = value;
      continue;
    }
    if (current === undefined) continue;
    if (line === "a=bundle-only") current.bundleOnly = true;
    const simulcast = /^a=simulcast:send (\S+)/.exec(line);
    if (simulcast !== null) {
      current.rids = simulcast[1]!.split(/[;,]/).filter((rid) => !rid.startsWith("~"));
    }
    const rtpmap = /^a=rtpmap:(\d+) ([^/\s]+)\/(\d+)(?:\/\d+)?$/.exec(line);
    if (rtpmap !== null) {
      const codec = current.codecs.find((c) => c.payloadType === Number(rtpmap[1]));
      if (codec !== undefined) {
        codec.name = rtpmap[2]!.toLowerCase();
        codec.clockRate = Number(rtpmap[3]);
      }
      continue;
    }
    const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (fmtp !== null) current.fmtp.set(Number(fmtp[1]), fmtp[2]!.trim());
  }
  if (current !== undefined) sections.push(finish(current));
  return sections;
}

function finish(
  section: MediaSection & { fmtp: Map<number, string>; port: string; bundleOnly?: boolean },
): MediaSection {
  for (const codec of section.codecs) {
    const text = section.fmtp.get(codec.payloadType) ?? "";
    codec.fmtpText = text;
    for (const pair of text.split(";")) {
      const [key, ...rest] = pair.trim().split("=");
      if (key) codec.fmtp.set(key.toLowerCase(), rest.join("="));
    }
  }
  return {
    kind: section.kind,
    rejected: section.port === "0" && !section.bundleOnly,
    rids: section.rids,
    direction: section.direction,
    codecs: section.codecs.filter((c) => c.name !== ""),
  };
}
