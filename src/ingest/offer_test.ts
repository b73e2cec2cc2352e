import assert from "node:assert/strict";
import { BadRequestError, UnsupportedError } from "../shared/errors.ts";
import { chooseFromOffer } from "./offer.ts";

const H264 = ["h264"];

function offer(...media: string[][]): string {
  return ["v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0", ...media.flat(), ""].join("\r\n");
}

const CHROME_VIDEO = [
  "m=video 9 UDP/TLS/RTP/SAVPF 96 102 103 127 108",
  "a=mid:0",
  "a=sendonly",
  "a=rtpmap:96 VP8/90000",
  "a=rtpmap:102 H264/90000",
  "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f",
  "a=rtpmap:103 rtx/90000",
  "a=fmtp:103 apt=102",
  "a=rtpmap:127 H264/90000",
  "a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  "a=rtpmap:108 H264/90000",
  "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f",
];
const OPUS_AUDIO = [
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 0",
  "a=mid:1",
  "a=sendonly",
  "a=rtpmap:111 opus/48000/2",
  "a=fmtp:111 minptime=10;useinbandfec=1",
];

Deno.test("chooseFromOffer picks the first H264 payload in packetization-mode 1, and Opus", () => {
  const choice = chooseFromOffer(offer(CHROME_VIDEO, OPUS_AUDIO), H264);
  assert.equal(choice.video?.codec.name, "h264");
  assert.equal(choice.video?.offered.payloadType, 127);
  assert.equal(
    choice.video?.offered.fmtpText,
    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  );
  assert.equal(choice.video?.rtx, undefined, "no rtx names 127 as its apt");
  assert.equal(choice.audio?.offered.payloadType, 111);
  assert.deepEqual(choice.ignored, []);
  const vp8 = chooseFromOffer(offer(CHROME_VIDEO, OPUS_AUDIO), ["vp8", "h264"]).video;
  assert.equal(vp8?.codec.name, "vp8", "the first of video_codecs that the section offers");
  const mode0 = CHROME_VIDEO.filter((line) => !/:(127|108) /.test(line)).map((l) => l.replace(" 127 108", ""));
  assert.equal(chooseFromOffer(offer(mode0), H264).video?.rtx?.payloadType, 103, "rtx 103 retransmits 102");
});

Deno.test("chooseFromOffer accepts packetization-mode 0 (and its default) when nothing better is offered", () => {
  const video = [
    "m=video 9 UDP/TLS/RTP/SAVPF 98",
    "a=sendonly",
    "a=rtpmap:98 H264/90000",
    "a=fmtp:98 profile-level-id=42e01f",
  ];
  assert.equal(chooseFromOffer(offer(video), H264).video?.offered.payloadType, 98);
});

Deno.test("chooseFromOffer reads SPS and PPS from sprop-parameter-sets", () => {
  const video = [
    "m=video 9 RTP/AVP 96",
    "a=rtpmap:96 H264/90000",
    "a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAH9oBQBboBtChNQ==,aM4G4g==",
  ];
  const sets = chooseFromOffer(offer(video), H264).video?.parameterSets ?? [];
  assert.deepEqual(sets.map((s) => s[0]), [0x67, 0x68]);
});

Deno.test("chooseFromOffer records the usable track and says which were ignored", () => {
  const vp8 = ["m=video 9 UDP/TLS/RTP/SAVPF 96", "a=sendonly", "a=rtpmap:96 VP8/90000"];
  const choice = chooseFromOffer(offer(vp8, OPUS_AUDIO), H264);
  assert.equal(choice.video, undefined);
  assert.equal(choice.audio?.codec.name, "opus");
  assert.deepEqual(choice.ignored, ["video (sendonly: VP8)"]);
});

Deno.test("chooseFromOffer ignores sections the publisher does not send", () => {
  const recvonly = CHROME_VIDEO.map((line) => line === "a=sendonly" ? "a=recvonly" : line);
  const choice = chooseFromOffer(offer(recvonly, OPUS_AUDIO), H264);
  assert.equal(choice.video, undefined);
  assert.match(choice.ignored[0]!, /recvonly/);
});

Deno.test("chooseFromOffer refuses an offer with nothing to record, naming what it had", () => {
  const vp9 = ["m=video 9 UDP/TLS/RTP/SAVPF 98", "a=sendonly", "a=rtpmap:98 VP9/90000"];
  const pcmu = ["m=audio 9 UDP/TLS/RTP/SAVPF 0", "a=sendonly"];
  assert.throws(() => chooseFromOffer(offer(vp9, pcmu), H264), (error: Error) => {
    assert.ok(error instanceof UnsupportedError);
    assert.match(error.message, /video \[VP9\] sendonly; audio \[PCMU\] sendonly/);
    return true;
  });
});

Deno.test("chooseFromOffer refuses H264 in interleaved mode, saying so", () => {
  const video = ["m=video 9 RTP/AVP 96", "a=sendonly", "a=rtpmap:96 H264/90000", "a=fmtp:96 packetization-mode=2"];
  assert.throws(() => chooseFromOffer(offer(video), H264), /refused: H264 packetization-mode 2/);
});

Deno.test("chooseFromOffer takes bundle-only sections (port 0 in a BUNDLE group) and skips rejected ones", () => {
  const bundleOnly = OPUS_AUDIO.map((line) => line.replace("m=audio 9", "m=audio 0")).concat("a=bundle-only");
  assert.equal(chooseFromOffer(offer(CHROME_VIDEO, bundleOnly), H264).audio?.offered.payloadType, 111);
  const rejected = OPUS_AUDIO.map((line) => line.replace("m=audio 9", "m=audio 0"));
  const choice = chooseFromOffer(offer(CHROME_VIDEO, rejected), H264);
  assert.equal(choice.audio, undefined);
  assert.deepEqual(choice.ignored, ["audio (rejected: OPUS, PCMU)"]);
});

Deno.test("chooseFromOffer refuses malformed SDP with the reason", () => {
  const cases: [string, RegExp][] = [
    ["", /must start with "v=0"/],
    ["hello", /must start with "v=0"/],
    ["v=0\r\nnot a line", /line 2 is not/],
    ["v=0\r\nm=video 9", /bad media line/],
    ["v=0\r\nm=video 9 RTP/AVP x", /bad media line/],
    ["v=0\r\n" + "a=x\r\n".repeat(20_000), /longer than/],
  ];
  for (const [sdp, message] of cases) {
    assert.throws(
      () => chooseFromOffer(sdp, H264),
      (error: Error) => error instanceof BadRequestError && message.test(error.message),
    );
  }
});
