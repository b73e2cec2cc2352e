/**
 * The default configuration file, embedded so the binary runs without one; the repository's config.toml holds the
 * same text. It parses to exactly the defaults parseConfig applies to an empty file (a test keeps them in step).
 */

/** Text of the default config.toml: every key at its default, optional keys as comments. */
export const defaultConfigToml = `# liverec configuration. Every key is optional: the values below are the defaults.
# Unknown keys are errors.

[http]
# Address of the HTTP API and WHIP endpoint: "host:port", IPv6 in brackets (e.g. "[::]:7777").
listen = "0.0.0.0:7777"
# Prometheus metrics are at GET /metrics on the address above, behind [auth] tokens like the API. This second
# address serves only /metrics, without a token (keep it private, e.g. on 127.0.0.1).
# metrics_listen = "127.0.0.1:9464"

[rtmp]
# RTMP ingest (OBS, ffmpeg, hardware encoders): rtmp://HOST:1935/APP/NAME publishes the stream APP/NAME.
enabled = true
listen = "0.0.0.0:1935"

[webrtc]
# IP addresses advertised as ICE host candidates besides the local interfaces
# (e.g. the public address of a host behind a 1:1 NAT).
public_ips = []
# The one UDP port all WebRTC sessions share (the port a firewall or NAT must
# open); 0: one the system picks.
udp_port = 7777
# Or a port of its own for each session, from a range (1024-65535), instead:
# udp_port_range = [20000, 20100]
# STUN servers, "stun:host:port". Empty: no STUN traffic.
stun_servers = []
# Also advertise 127.0.0.1, for publishers on the same host.
loopback = true
# Answer as an ICE-lite agent (host candidates only; the publisher runs the connectivity checks).
ice_lite = true
# Video codecs answered, most wanted first, when a publisher offers several. H.264 plays everywhere; VP9 and
# AV1 play from fMP4 in browsers; VP8 plays in ffmpeg and VLC but not in browsers' MSE (WebM only), so it is last.
# video_codecs = ["h264", "vp9", "av1", "h265", "vp8"]
# A simulcast publisher sends several layers; one is recorded: the one with this rid, or else the largest picture.
# simulcast_layer = "h"
# The bandwidth (kbit/s) Chromium, Safari and Edge start sending at. liverec gives them no congestion feedback, so
# without this they stay at their own 300 kbit/s; they still back off on losses. 0: leave them theirs.
start_bitrate_kbps = 2500

[recorder]
# Streams recorded as soon as they are published: exact names, or patterns where "*" matches anything.
# auto_streams = ["*"]                        # every stream
# auto_streams = ["room1", "room2", "web-*"]  # some streams
auto_streams = []
# Name of this node in recording metadata (1-64 characters); recommended with several nodes.
# node_alias = "liverec-node-001"
# Target segment duration in seconds, 1-30; a segment ends at the first keyframe after it.
segment_duration = 6
# A publisher's own end (WHIP DELETE) opens the splice window as an interruption does, so a publisher that
# stops and starts again continues the same recording (a rule may say otherwise). false: a DELETE is final.
splice_on_unpublish = true
# With s3 or oss storage, recordings are written here first and uploaded from here; nothing is deleted
# before the store confirmed it. Past spool_max_mb (MiB), new media is dropped and the API status says so.
spool_dir = "./spool"
spool_max_mb = 4096
# The service's own state: the recordings index (recordings.db) and webhooks not yet delivered.
state_dir = "./state"

# Rules: which streams are recorded, and how. The most specific "match" wins: an exact name beats a
# pattern with "*", which beats "*" alone; among patterns the longer literal part wins, then file order.
# auto_streams patterns are rules with every setting at its default, after these.
# [[recorder.rules]]
# match = "web-*"                 # exact name, pattern with "*", or "*"; "live/*" for an app (app/name)
# record = "always"               # "always", "never" or "on_demand"
# segment_duration = 6            # seconds, 1-30
# record_period = 86400           # seconds, 5-604800: a longer recording continues in a new one at a keyframe
# splice_window = 180             # seconds, 0-21600: a publisher back within it continues the same recording
# splice_on_unpublish = true      # a WHIP DELETE opens the splice window too; false: a DELETE ends the recording
# path_template = "{stream}/{yyyy}/{MM}/{dd}"   # folder; {stream} {app} {name} {yyyy} {MM} {dd} {HH} {mm} {ss}
#                                               # {start} {record_id}
# mp4_template = "{record_dir}/{name}_{start}_{end}.mp4"  # the final MP4, also {end} and {record_dir}
# flv_template = "{record_dir}/{name}_{start}_{end}.flv"  # the FLV file, named as the MP4
# ts_template = "{record_dir}/{unix}_{seq}.ts"  # each TS segment: {unix} its start (Unix s), {seq} its number
# prefix = "archive"              # prepended to the folder
# retain_days = 30               # finished recordings older than this (days) are deleted; default: kept
# formats = ["dash", "hls"]       # "dash" (always), "hls" (HLS over the fMP4 segments), "ts" (HLS over MPEG-TS
#                                 # segments: ts.m3u8, H.264/H.265 with AAC/MP3 only), "flv" (one FLV file),
#                                 # "mp4" (one progressive MP4 when a recording ends)
# on_demand_url = "http://127.0.0.1:8080/should-record"   # with record = "on_demand": POSTed {"stream", ...}
# on_demand_timeout = 3           # seconds to wait for the answer
# on_demand_fallback = "skip"     # "record" or "skip" when the callback fails or is slow

# Retention, checked at start and every interval: finished recordings go, oldest first, while the recordings take
# more than max_bytes or the storage root's disk (fs storage) has less than min_free_disk free. A recording in
# progress is never deleted. Each deletion is logged and sent as the webhook recording.deleted with its reason.
# [recorder.retention]
# max_bytes = 500000000000        # bytes, all recordings together; default: no limit
# min_free_disk = "10%"           # bytes (a number) or a share of the disk ("10%"); default: not watched
# on_full = "refuse_new"          # nothing left to delete: "refuse_new" recordings, or "stop_oldest_running"
# dry_run = false                 # only log what would be deleted
# interval = 300                  # seconds between checks

[recorder.storage]
# "fs" (a local directory), "s3" (AWS S3, MinIO and other S3-compatible stores) or "oss" (Alibaba Cloud OSS).
type = "fs"
# fs: the directory of the recordings. s3, oss: the prefix inside the bucket (default "/").
root = "./records"
# s3 keys: bucket (required), root, region, endpoint, access_key_id, secret_access_key, session_token,
#   disable_config_load, enable_virtual_host_style. Without keys in this file the credentials come from
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, and the region from AWS_REGION or
#   AWS_DEFAULT_REGION, unless disable_config_load = true.
# oss keys: bucket, region, endpoint (all required), root, access_key_id, access_key_secret, security_token.
#   Without keys in this file the credentials come from ALIBABA_CLOUD_ACCESS_KEY_ID,
#   ALIBABA_CLOUD_ACCESS_KEY_SECRET and ALIBABA_CLOUD_SECURITY_TOKEN.
# s3 and oss: presign_expires (seconds a presigned playback URL lives; 0, the default, serves objects through
#   liverec) and request_timeout (seconds one request to the store may take before it is tried again; default 60).

[webhooks]
# URLs every recording event is POSTed to (recording.started, .segment, .finished, .spliced, .rotated,
# .failed), retried with back-off until delivered, kept on disk across restarts.
urls = []
# HMAC-SHA256 key of the webhook-signature header (at least 16 characters). Unset: unsigned.
# secret = "a-long-random-secret"
# Seconds allowed for one delivery attempt.
timeout = 5

[auth]
# Bearer tokens accepted by the HTTP API, 8-256 printable characters without spaces. Empty: no authentication.
tokens = []
`;
