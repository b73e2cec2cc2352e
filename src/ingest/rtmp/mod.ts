/**
 * Public API of the RTMP transport: the `node:net` server, the pure per-connection session and its events, and
 * the AMF0 and chunk codecs a client or a test needs. Audio and video leave as raw FLV tag bodies; reading them is
 * flv_tags.ts's job, not this layer's.
 */

export {
  type RtmpConnectionInfo,
  type RtmpListenAddress,
  type RtmpPublishDecision,
  RtmpServer,
  type RtmpServerEvent,
  type RtmpServerHandler,
  type RtmpServerOptions,
} from "./server.ts";
export {
  type PublishRefusal,
  type PublishRefusalCode,
  type RtmpCloseEvent,
  type RtmpConnectEvent,
  type RtmpEvent,
  type RtmpMediaEvent,
  type RtmpMetadataEvent,
  type RtmpPublishEvent,
  RtmpSession,
  type RtmpSessionOptions,
  type RtmpSessionStats,
  type RtmpUnpublishEvent,
  type SessionOutput,
} from "./session.ts";
export { RtmpProtocolError } from "./errors.ts";
export { Amf0EcmaArray, type Amf0Object, amf0Object, type Amf0Value, decodeAmf0, encodeAmf0 } from "./amf0.ts";
export {
  ChunkReader,
  type ChunkReaderOptions,
  ChunkWriter,
  DEFAULT_CHUNK_SIZE_BYTES,
  MAX_CHUNK_SIZE_BYTES,
  MAX_MESSAGE_SIZE_BYTES,
} from "./chunk_stream.ts";
export { MessageType, type RtmpMessage, UserControlEvent } from "./messages.ts";
export { HANDSHAKE_PACKET_BYTES, RTMP_VERSION } from "./handshake.ts";
export { type FlvRecord, parseAudioTag, parseVideoTag } from "./flv_tags.ts";
