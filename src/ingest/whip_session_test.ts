import assert from "node:assert/strict";
import { withoutBundleOnly } from "./whip_session.ts";

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
