/** Ingest adapters: WHIP in (server) and out (the test publisher's client). werift is imported here only. */

export type { WebrtcOptions } from "./webrtc_config.ts";
export { WhipIngest, type WhipIngestOptions } from "./whip_ingest.ts";
export { publishWhip, type WhipPublisher, type WhipPublishOptions } from "./whip_client.ts";
export { RtmpIngest, type RtmpIngestOptions } from "./rtmp_ingest.ts";
export { UDP_RECEIVE_BUFFER_BYTES, UdpMux } from "./udp_mux.ts";
