/** The werift peer-connection settings liverec uses on both ends, derived from `[webrtc]`. */

import {
  type RTCPeerConnection,
  RTCRtpCodecParameters,
  UdpTransport,
  useNACK,
  usePLI,
  useRepairedRtpStreamId,
  useSdesMid,
  useSdesRTPStreamId,
} from "werift";
import type { Codec } from "../codec/mod.ts";
import { muxTransportFor } from "./udp_mux.ts";

/** The `[webrtc]` settings ingest needs. */
export interface WebrtcOptions {
  /** Addresses advertised as ICE host candidates besides the machine's interfaces (NAT, containers). */
  publicIps: readonly string[];
  /** UDP ports each session binds from, inclusive; undefined for the shared port (or, without one, any port). */
  udpPortRange: readonly [number, number] | undefined;
  /** STUN servers as `stun:host:port`; with none configured, liverec sends no STUN traffic at all. */
  stunServers: readonly string[];
  /** Answer as an ICE-lite agent (RFC 8445 §2.5): no gathering, no STUN, a server with known addresses. */
  iceLite: boolean;
  /** Advertise 127.0.0.1 too, for publishers on the same machine (werift never gathers loopback by itself). */
  loopback: boolean;
  /** Video codecs answered, most wanted first (names of the codec table). */
  videoCodecs: readonly string[];
  /** The rid of the simulcast layer to record; undefined for the largest picture. */
  simulcastLayer: string | undefined;
  /** Bandwidth libwebrtc publishers start from (`x-google-start-bitrate`), kbit/s; 0 leaves them their own. */
  startBitrateKbps: number;
}

type PeerConfig = NonNullable<ConstructorParameters<typeof RTCPeerConnection>[0]>;

/**
 * Peer-connection configuration for the given options; `codecs` limits what can be negotiated. A simulcast publish
 * needs the header extensions that name each packet's layer (RFC 8852 rid, RFC 8843 mid).
 */
export function peerConfig(
  options: WebrtcOptions,
  codecs: { video: RTCRtpCodecParameters[]; audio: RTCRtpCodecParameters[] },
  simulcast = false,
  muxMarker?: object,
): PeerConfig {
  const stun = options.stunServers.map((url) => ({ urls: url }));
  if (muxMarker !== undefined) useMuxTransports();
  return {
    codecs,
    ...(simulcast
      ? { headerExtensions: { video: [useSdesMid(), useSdesRTPStreamId(), useRepairedRtpStreamId()], audio: [] } }
      : {}),
    iceLite: options.iceLite && stun.length === 0,
    iceServers: stun,
    iceAdditionalHostAddresses: [...options.publicIps, ...(options.loopback ? ["127.0.0.1"] : [])],
    ...(options.udpPortRange !== undefined ? { icePortRange: [...options.udpPortRange] as [number, number] } : {}),
    // A session on the shared port (udp_mux.ts) is named by this marker; it restricts no interface.
    ...(muxMarker !== undefined ? { iceInterfaceAddresses: muxMarker as PeerConfig["iceInterfaceAddresses"] } : {}),
    iceUseIpv6: false,
    iceUseTcp: false,
    // Loopback talks to loopback only. Otherwise a publisher's check from its LAN address to our 127.0.0.1
    // candidate succeeds, and werift's ICE-lite agent keeps the first pair nominated on it while the publisher
    // goes on with another one: DTLS then never completes.
    iceFilterStunResponse: (_message, address, protocol) =>
      isLoopback(address[0]) === isLoopback(protocol.localIp ?? ""),
  };
}

let muxHookInstalled = false;

/** Makes werift's `UdpTransport.init` give a UDP mux's session a transport on the shared port; others get sockets. */
function useMuxTransports(): void {
  if (muxHookInstalled) return;
  muxHookInstalled = true;
  const original = UdpTransport.init.bind(UdpTransport);
  (UdpTransport as unknown as { init: typeof UdpTransport.init }).init = (type, options = {}) => {
    const transport = type === "udp4" ? muxTransportFor(options) : undefined;
    return transport === undefined ? original(type, options) : Promise.resolve(transport as unknown as UdpTransport);
  };
}

function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1";
}

/**
 * werift's entry for a row of the codec table (at the offered payload type, when answering), with the feedback liverec needs for
 * video (NACK for loss, PLI for keyframes). Opus is always opus/48000/2 in SDP (RFC 7587 §7).
 */
export function rtpCodec(codec: Codec, fmtp: string, payloadType?: number): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: `${codec.kind}/${codec.sdpName}`,
    clockRate: codec.clockRate,
    ...(codec.kind === "video" ? { rtcpFeedback: [useNACK(), usePLI()] } : { channels: 2 }),
    parameters: fmtp,
    ...(payloadType !== undefined ? { payloadType } : {}),
  });
}

/** The RTX entry (RFC 4588 §8.6) retransmitting the video payload type `apt`: werift then unwraps retransmissions. */
export function rtxCodec(payloadType: number, apt: number): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({ mimeType: "video/rtx", clockRate: 90_000, parameters: `apt=${apt}`, payloadType });
}
