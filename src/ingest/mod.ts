/**
 * Ingest adapters: WHIP and RTMP in. werift is imported in this folder only, and loaded with the first WHIP publish;
 * the test publisher's WHIP client is `whip_client.ts`, imported by path so that importing this module loads no werift.
 */

export type { WebrtcOptions } from "./webrtc_config.ts";
export { WhipIngest, type WhipIngestOptions } from "./whip_ingest.ts";
export { RtmpIngest, type RtmpIngestOptions } from "./rtmp_ingest.ts";
export { UDP_RECEIVE_BUFFER_BYTES, UdpMux } from "./udp_mux.ts";
