/**
 * The liverec configuration schema: TOML text in, a validated, fully defaulted Config out. Pure: it reads no file
 * and no process environment (the caller passes both in), and it rejects rather than repairs anything doubtful,
 * including keys it does not know.
 */

import { parse, TomlError } from "smol-toml";
import { ConfigError, errorMessage } from "../shared/errors.ts";
import { type HostPort, isHttpUrl, isIpLiteral, isPrintable, parseHostPort, parseStunUri } from "./checks.ts";
import { streamPatternProblem } from "./names.ts";
import {
  autoStreamRules,
  defaultRuleSettings,
  parseRules,
  type RecordRule,
  type RuleSettings,
  settingRangeProblem,
} from "./rules.ts";
import { describe, Section, type TomlTable } from "./section.ts";
import { parseStorage, type StorageConfig } from "./storage.ts";
import { parseRetention, type RetentionConfig } from "./retention.ts";
import { VIDEO_CODECS } from "../codec/mod.ts";

/** `[http]`: the API and WHIP endpoint. */
export interface HttpConfig {
  /** Address to listen on; port 0 picks a free port. */
  listen: HostPort;
  /** A second address serving only `GET /metrics`, without auth (for a Prometheus that has no token). */
  metricsListen: HostPort | undefined;
}

/** `[rtmp]`: the RTMP ingest server. */
export interface RtmpConfig {
  /** Whether the server runs (default true). */
  enabled: boolean;
  /** Address to listen on (default 0.0.0.0:1935); port 0 picks a free port. */
  listen: HostPort;
}

/** `[webrtc]`: ICE for ingest sessions. */
export interface WebRtcConfig {
  /** IP literals advertised as extra ICE host candidates (e.g. the public address in front of a NAT). */
  publicIps: string[];
  /** The one UDP port every session shares (0: one the system picks); undefined when sessions bind a range. */
  udpPort: number | undefined;
  /** UDP ports each session binds one of, inclusive; undefined with the shared port. */
  udpPortRange: [minPort: number, maxPort: number] | undefined;
  /** Canonical `stun:host:port` URIs; empty means no STUN traffic. */
  stunServers: string[];
  /** Also advertise the loopback address (127.0.0.1). */
  loopback: boolean;
  /** Answer as an ICE-lite agent (RFC 8445 §2.5): host candidates only, the publisher runs the checks. */
  iceLite: boolean;
  /** Video codecs liverec answers, most wanted first (names of the codec table). */
  videoCodecs: string[];
  /** The rid (RFC 8851) of the simulcast layer to record; undefined for the largest picture. */
  simulcastLayer: string | undefined;
  /** Bandwidth libwebrtc publishers start from, kbit/s; 0 leaves them their own (300). */
  startBitrateKbps: number;
}

/** `[recorder]`: what is recorded and where. */
export interface RecorderConfig {
  /** Stream patterns recorded as soon as they are published (`*` matches any run of characters). */
  autoStreams: string[];
  /** Name of this node in recording metadata, for multi-node deployments; undefined when not configured. */
  nodeAlias: string | undefined;
  /** Target media duration of one segment, in seconds (segments end on the first keyframe after it). */
  segmentDurationS: number;
  /** `[[recorder.rules]]` in file order, then one "always" rule per `auto_streams` pattern. */
  rules: RecordRule[];
  /** Settings of a recording no rule matches (one started through the API). */
  defaults: RuleSettings;
  /** Local directory of the service's own state: the recordings index and the webhook outbox. */
  stateDir: string;
  /** Local directory where recordings wait for upload to an object store (unused with `fs` storage). */
  spoolDir: string;
  /** The spool's size limit; past it new media is dropped and the status says so. */
  spoolMaxBytes: number;
  storage: StorageConfig;
  retention: RetentionConfig;
}

/** `[webhooks]`: where recording events are POSTed, signed with `secret` when set. */
export interface WebhooksConfig {
  urls: string[];
  secret: string | undefined;
  /** Time allowed for one delivery attempt, in milliseconds. */
  timeoutMs: number;
}

/** `[auth]`: bearer tokens accepted by the HTTP API; empty means no authentication. */
export interface AuthConfig {
  tokens: string[];
}

/** The whole validated configuration: every key is present, defaulted, or explicitly undefined when unset. */
export interface Config {
  http: HttpConfig;
  rtmp: RtmpConfig;
  webrtc: WebRtcConfig;
  recorder: RecorderConfig;
  webhooks: WebhooksConfig;
  auth: AuthConfig;
}

const DEFAULT_LISTEN = "0.0.0.0:7777";
const DEFAULT_RTMP_LISTEN = "0.0.0.0:1935";
const DEFAULT_SEGMENT_DURATION_S = 6;
const DEFAULT_SPOOL_DIR = "./spool";
const DEFAULT_STATE_DIR = "./state";
const DEFAULT_WEBHOOK_TIMEOUT_S = 5;
const MAX_WEBHOOK_TIMEOUT_S = 60;
const MIN_WEBHOOK_SECRET_LENGTH = 16;
const DEFAULT_SPOOL_MAX_MB = 4096;
const MIN_SPOOL_MAX_MB = 16;
const DEFAULT_UDP_PORT = 7777;
const MIN_UDP_PORT = 1024;
const MAX_UDP_PORT = 65535;
const MAX_NODE_ALIAS_LENGTH = 64;
/** Tokens shorter than this are accepted, as live777 accepts its sample token `live777`, with a warning at start. */
export const SHORT_TOKEN_LENGTH = 8;
const MAX_TOKEN_LENGTH = 256;

/**
 * Parses and validates a liverec TOML configuration. `env` (e.g. `process.env`) supplies storage
 * credentials and region when the file has none; without it there are no fallbacks.
 * Throws ConfigError naming the dotted key, or "(file)" for TOML syntax errors.
 */
export function parseConfig(tomlText: string, env: Readonly<Record<string, string | undefined>> = {}): Config {
  const root = new Section("", parseToml(tomlText));
  root.rejectUnknownKeys(["http", "rtmp", "webrtc", "recorder", "webhooks", "auth"]);
  return {
    http: parseHttp(root.section("http")),
    rtmp: parseRtmp(root.section("rtmp")),
    webrtc: parseWebRtc(root.section("webrtc")),
    recorder: parseRecorder(root.section("recorder"), env),
    webhooks: parseWebhooks(root.section("webhooks")),
    auth: parseAuth(root.section("auth")),
  };
}

function parseToml(tomlText: string): TomlTable {
  try {
    // "keep" leaves `__proto__` and friends as plain keys of null-prototype tables; they then fail as unknown keys.
    return parse(tomlText, { unsafeKeyBehaviour: "keep" });
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = (error.message.split("\n")[0] ?? "").replace(/^Invalid TOML document: /, "");
      throw new ConfigError(
        "(file)",
        `is not valid TOML: ${reason} at line ${error.line}, column ${error.column}\n\n${error.codeblock}`,
      );
    }
    throw new ConfigError("(file)", `is not valid TOML: ${errorMessage(error)}`);
  }
}

function parseHttp(section: Section): HttpConfig {
  section.rejectUnknownKeys(["listen", "metrics_listen"]);
  const listen = section.string("listen") ?? DEFAULT_LISTEN;
  const parsed = parseHostPort(listen, 0);
  if (!parsed.ok) throw section.error("listen", `${parsed.problem}, got ${describe(listen)}`);
  const metricsListen = section.string("metrics_listen");
  if (metricsListen === undefined) return { listen: parsed.value, metricsListen: undefined };
  const metrics = parseHostPort(metricsListen, 0);
  if (!metrics.ok) throw section.error("metrics_listen", `${metrics.problem}, got ${describe(metricsListen)}`);
  return { listen: parsed.value, metricsListen: metrics.value };
}

function parseRtmp(section: Section): RtmpConfig {
  section.rejectUnknownKeys(["enabled", "listen"]);
  const listen = section.string("listen") ?? DEFAULT_RTMP_LISTEN;
  const parsed = parseHostPort(listen, 0);
  if (!parsed.ok) throw section.error("listen", `${parsed.problem}, got ${describe(listen)}`);
  return { enabled: section.boolean("enabled") ?? true, listen: parsed.value };
}

function isUdpPort(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= MIN_UDP_PORT && value <= MAX_UDP_PORT;
}

function parseWebRtc(section: Section): WebRtcConfig {
  section.rejectUnknownKeys([
    "public_ips",
    "udp_port_range",
    "udp_port",
    "stun_servers",
    "loopback",
    "ice_lite",
    "video_codecs",
    "simulcast_layer",
    "start_bitrate_kbps",
  ]);
  const publicIps = section.stringArray("public_ips") ?? [];
  publicIps.forEach((ip, i) => {
    if (!isIpLiteral(ip)) {
      throw section.error(
        `public_ips[${i}]`,
        `must be an IPv4 or IPv6 address (no brackets, no zone), got ${describe(ip)}`,
      );
    }
  });
  const stunServers = (section.stringArray("stun_servers") ?? []).map((uri, i) => {
    const parsed = parseStunUri(uri);
    if (!parsed.ok) throw section.error(`stun_servers[${i}]`, `${parsed.problem}, got ${describe(uri)}`);
    return parsed.value;
  });
  return {
    publicIps,
    ...parseUdpPorts(section),
    stunServers,
    loopback: section.boolean("loopback") ?? true,
    iceLite: section.boolean("ice_lite") ?? true,
    videoCodecs: parseVideoCodecs(section),
    simulcastLayer: parseSimulcastLayer(section),
    startBitrateKbps: parseStartBitrate(section),
  };
}

/** What a recorder wants from a camera: enough for 720p30 H.264 of ordinary content. */
const DEFAULT_START_BITRATE_KBPS = 2500;

function parseStartBitrate(section: Section): number {
  const kbps = section.number("start_bitrate_kbps") ?? DEFAULT_START_BITRATE_KBPS;
  if (!(Number.isInteger(kbps) && (kbps === 0 || (kbps >= 100 && kbps <= 50_000)))) {
    throw section.error("start_bitrate_kbps", `must be 0 or a whole number from 100 to 50000, got ${describe(kbps)}`);
  }
  return kbps;
}

function parseSimulcastLayer(section: Section): string | undefined {
  const rid = section.string("simulcast_layer");
  if (rid !== undefined && !/^[A-Za-z0-9_-]{1,16}$/.test(rid)) {
    throw section.error("simulcast_layer", `must be a rid: 1-16 letters, digits, "-" or "_", got ${describe(rid)}`);
  }
  return rid;
}

/** H.264 plays everywhere; VP9 and AV1 play from fMP4 in browsers; VP8 only from WebM in browsers' MSE, so last. */
const DEFAULT_VIDEO_CODECS: readonly string[] = ["h264", "vp9", "av1", "h265", "vp8"];

function parseVideoCodecs(section: Section): string[] {
  const names = section.stringArray("video_codecs") ?? DEFAULT_VIDEO_CODECS;
  const known = [...VIDEO_CODECS.keys()];
  names.forEach((name, i) => {
    if (!VIDEO_CODECS.has(name)) {
      throw section.error(`video_codecs[${i}]`, `must be one of ${known.join(", ")}, got ${describe(name)}`);
    }
    if (names.indexOf(name) !== i) throw section.error(`video_codecs[${i}]`, `names ${describe(name)} twice`);
  });
  return [...names];
}

/** `udp_port` (the shared port, by default) or `udp_port_range` (a port per session), never both. */
function parseUdpPorts(
  section: Section,
): { udpPort: number; udpPortRange: undefined } | { udpPort: undefined; udpPortRange: [number, number] } {
  if (section.has("udp_port") && section.has("udp_port_range")) {
    throw section.error("udp_port", "cannot be combined with udp_port_range; set one of them");
  }
  const range = section.array("udp_port_range");
  if (range === undefined) {
    const port = section.number("udp_port") ?? DEFAULT_UDP_PORT;
    if (port !== 0 && !isUdpPort(port)) {
      throw section.error(
        "udp_port",
        `must be 0 (any free port) or an integer from ${MIN_UDP_PORT} to ${MAX_UDP_PORT}, got ${describe(port)}`,
      );
    }
    return { udpPort: port, udpPortRange: undefined };
  }
  const [min, max] = range;
  if (range.length !== 2 || !isUdpPort(min) || !isUdpPort(max) || min > max) {
    throw section.error(
      "udp_port_range",
      `must be [min, max] with ${MIN_UDP_PORT} <= min <= max <= ${MAX_UDP_PORT}, got ${describe(range)}`,
    );
  }
  return { udpPort: undefined, udpPortRange: [min, max] };
}

function parseRecorder(section: Section, env: Readonly<Record<string, string | undefined>>): RecorderConfig {
  section.rejectUnknownKeys([
    "auto_streams",
    "node_alias",
    "segment_duration",
    "splice_on_unpublish",
    "spool_dir",
    "spool_max_mb",
    "state_dir",
    "rules",
    "storage",
    "retention",
  ]);
  const autoStreams = section.stringArray("auto_streams") ?? [];
  autoStreams.forEach((pattern, i) => {
    const problem = streamPatternProblem(pattern);
    if (problem !== undefined) throw section.error(`auto_streams[${i}]`, `is invalid: ${problem}`);
  });
  const nodeAlias = section.string("node_alias");
  if (nodeAlias !== undefined) {
    const length = [...nodeAlias].length;
    if (length < 1 || length > MAX_NODE_ALIAS_LENGTH || !isPrintable(nodeAlias)) {
      throw section.error(
        "node_alias",
        `must be 1–${MAX_NODE_ALIAS_LENGTH} printable characters, got ${describe(nodeAlias)}`,
      );
    }
  }
  const segmentDurationS = section.number("segment_duration") ?? DEFAULT_SEGMENT_DURATION_S;
  const segmentDurationProblem = settingRangeProblem("segment_duration", segmentDurationS);
  if (segmentDurationProblem !== undefined) throw section.error("segment_duration", segmentDurationProblem);
  const spoolDir = directory(section, "spool_dir", DEFAULT_SPOOL_DIR);
  const spoolMaxMb = section.number("spool_max_mb") ?? DEFAULT_SPOOL_MAX_MB;
  if (!(Number.isInteger(spoolMaxMb) && spoolMaxMb >= MIN_SPOOL_MAX_MB)) {
    throw section.error(
      "spool_max_mb",
      `must be a whole number of MiB, at least ${MIN_SPOOL_MAX_MB}, got ${describe(spoolMaxMb)}`,
    );
  }
  const stateDir = directory(section, "state_dir", DEFAULT_STATE_DIR);
  const defaults = defaultRuleSettings(segmentDurationS, section.boolean("splice_on_unpublish") ?? true);
  const rules = [...parseRules(section, defaults), ...autoStreamRules(autoStreams, defaults)];
  return {
    autoStreams,
    nodeAlias,
    segmentDurationS,
    rules,
    defaults,
    stateDir,
    spoolDir,
    spoolMaxBytes: spoolMaxMb * 1024 * 1024,
    storage: parseStorage(section.section("storage"), env),
    retention: parseRetention(section.section("retention")),
  };
}

/** A local directory path at `key`, `fallback` when absent. */
function directory(section: Section, key: string, fallback: string): string {
  const dir = section.string(key) ?? fallback;
  if (dir.length === 0 || dir.includes("\0")) {
    throw section.error(key, `must be a directory path, got ${describe(dir)}`);
  }
  return dir;
}

function parseWebhooks(section: Section): WebhooksConfig {
  section.rejectUnknownKeys(["urls", "secret", "timeout"]);
  const urls = section.stringArray("urls") ?? [];
  urls.forEach((url, i) => {
    if (!isHttpUrl(url)) throw section.error(`urls[${i}]`, `must be an http:// or https:// URL, got ${describe(url)}`);
  });
  const secret = section.string("secret", true);
  if (secret !== undefined && secret.length < MIN_WEBHOOK_SECRET_LENGTH) {
    throw section.error("secret", `must be at least ${MIN_WEBHOOK_SECRET_LENGTH} characters, got ${secret.length}`);
  }
  const timeoutS = section.number("timeout") ?? DEFAULT_WEBHOOK_TIMEOUT_S;
  if (!(timeoutS > 0 && timeoutS <= MAX_WEBHOOK_TIMEOUT_S)) {
    throw section.error(
      "timeout",
      `must be more than 0 and at most ${MAX_WEBHOOK_TIMEOUT_S} seconds, got ${describe(timeoutS)}`,
    );
  }
  return { urls, secret, timeoutMs: Math.round(timeoutS * 1000) };
}

function parseAuth(section: Section): AuthConfig {
  section.rejectUnknownKeys(["tokens"]);
  const tokens = section.stringArray("tokens", true) ?? [];
  tokens.forEach((token, i) => {
    if (!/^[\x21-\x7e]+$/.test(token) || token.length > MAX_TOKEN_LENGTH) {
      throw section.error(
        `tokens[${i}]`,
        `must be 1–${MAX_TOKEN_LENGTH} printable ASCII characters without spaces, ` +
          `got ${describe(token, true)}`,
      );
    }
  });
  return { tokens };
}
