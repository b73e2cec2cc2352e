/**
 * Reads a publisher's SDP offer (RFC 8866) just far enough to decide what liverec can record from it: the first
 * sending H.264 video (packetization-mode 0 or 1, RFC 6184 §8.1) and Opus audio (RFC 7587) sections. It answers
 * nothing itself: WebRTC negotiation is werift's job. Malformed or unusable offers get errors that say why.
 */

import { parseSpropParameterSets } from "../codec/mod.ts";
import { BadRequestError, UnsupportedError } from "../shared/errors.ts";

/** A codec the offer lists for one media section. */
export interface OfferedCodec {
  payloadType: number;
  name: string;
  clockRate: number;
  fmtp: Map<string, string>;
  fmtpText: string;
}

/** What liverec will record from an offer. */
export interface OfferChoice {
  video: { codec: OfferedCodec; packetizationMode: 0 | 1; parameterSets: Uint8Array[] } | undefined;
  audio: { codec: OfferedCodec } | undefined;
  /** Sections that were offered but will not be recorded, with the reason, for the log. */
  ignored: string[];
}

interface MediaSection {
  kind: string;
  direction: string;
  codecs: OfferedCodec[];
}

const MAX_SDP_BYTES = 64 * 1024;
/** Static RTP payload types that offers may list without an rtpmap line (RFC 3551 §6). */
const STATIC_PAYLOAD_TYPES: Record<number, [name: string, clockRate: number]> = {
  0: ["pcmu", 8000],
  8: ["pcma", 8000],
  9: ["g722", 8000],
};

/** Parses `sdp` and picks the tracks to record; throws BadRequestError or UnsupportedError with the reason. */
export function chooseFromOffer(sdp: string): OfferChoice {
  const sections = parseSections(sdp);
  const choice: OfferChoice = { video: undefined, audio: undefined, ignored: [] };
  for (const section of sections) {
    const sending = section.direction === "sendonly" || section.direction === "sendrecv";
    if (section.kind === "video" && choice.video === undefined && sending) {
      const h264 = section.codecs
        .filter((codec) => codec.name === "h264" && codec.clockRate === 90_000)
        .map((codec) => ({ codec, mode: Number(codec.fmtp.get("packetization-mode") ?? "0") }))
        .filter(({ mode }) => mode === 0 || mode === 1)
        .sort((a, b) => b.mode - a.mode)[0];
      if (h264 !== undefined) {
        const sprop = h264.codec.fmtp.get("sprop-parameter-sets");
        choice.video = {
          codec: h264.codec,
          packetizationMode: h264.mode as 0 | 1,
          parameterSets: sprop === undefined ? [] : safeSprop(sprop),
        };
        continue;
      }
    }
    if (section.kind === "audio" && choice.audio === undefined && sending) {
      const opus = section.codecs.find((codec) => codec.name === "opus" && codec.clockRate === 48_000);
      if (opus !== undefined) {
        choice.audio = { codec: opus };
        continue;
      }
    }
    choice.ignored.push(`${section.kind} (${section.direction}: ${describeCodecs(section.codecs)})`);
  }
  if (choice.video === undefined && choice.audio === undefined) {
    const offered = sections.map((s) => `${s.kind} [${describeCodecs(s.codecs)}] ${s.direction}`).join("; ");
    throw new UnsupportedError(
      `nothing to record in the offer: it has ${offered || "no media"}; liverec records sending video in H264 ` +
        `(packetization-mode 0 or 1) and audio in opus/48000`,
    );
  }
  return choice;
}

function describeCodecs(codecs: OfferedCodec[]): string {
  const names = [...new Set(codecs.map((c) => c.name.toUpperCase()))];
  return names.length === 0 ? "no codecs" : names.join(", ");
}

function safeSprop(value: string): Uint8Array[] {
  try {
    return parseSpropParameterSets(value);
  } catch {
    return [];
  }
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
  let current: (MediaSection & { fmtp: Map<number, string> }) | undefined;
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

function finish(section: MediaSection & { fmtp: Map<number, string> }): MediaSection {
  for (const codec of section.codecs) {
    const text = section.fmtp.get(codec.payloadType) ?? "";
    codec.fmtpText = text;
    for (const pair of text.split(";")) {
      const [key, ...rest] = pair.trim().split("=");
      if (key) codec.fmtp.set(key.toLowerCase(), rest.join("="));
    }
  }
  return { kind: section.kind, direction: section.direction, codecs: section.codecs.filter((c) => c.name !== "") };
}
