import assert from "node:assert/strict";
import { withoutBundleOnly, withStartBitrate } from "./whip_session.ts";

Deno.test("withoutBundleOnly gives bundle-only sections a port and leaves the others alone", () => {
  const sdp = [
    "v=0",
    "a=group:BUNDLE 0 1 2",
    "m=video 9 UDP/TLS/RTP/SAVPF 96",
    "a=mid:0",
    "m=audio 0 UDP/TLS/RTP/SAVPF 111",
    "a=bundle-only",
    "a=mid:1",
    "m=video 0 UDP/TLS/RTP/SAVPF 97",
    "a=mid:2",
    "",
  ].join("\r\n");
  assert.equal(
    withoutBundleOnly(sdp),
    [
      "v=0",
      "a=group:BUNDLE 0 1 2",
      "m=video 9 UDP/TLS/RTP/SAVPF 96",
      "a=mid:0",
      "m=audio 9 UDP/TLS/RTP/SAVPF 111",
      "a=mid:1",
      "m=video 0 UDP/TLS/RTP/SAVPF 97",
      "a=mid:2",
      "",
    ].join("\r\n"),
  );
});

Deno.test("withStartBitrate adds x-google-start-bitrate to the video payload type's fmtp, or gives it one", () => {
  const withFmtp = "m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1\r\n";
  assert.equal(
    withStartBitrate(withFmtp, 102, 2500),
    "m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1;x-google-start-bitrate=2500\r\n",
  );
  const withoutFmtp = "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\n";
  assert.equal(
    withStartBitrate(withoutFmtp, 96, 800),
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=rtpmap:96 VP8/90000\r\na=fmtp:96 x-google-start-bitrate=800\r\na=rtpmap:97 rtx/90000\r\n",
  );
});
