import assert from "node:assert/strict";
import { type LevelDetails, M3U8Parser, PlaylistLevelType } from "hls.js";
import {
  expandNumberTemplate,
  hasTsSegments,
  hlsTracks,
  type PeriodIndex,
  type RecordingIndex,
  renderHlsMedia,
  renderHlsMultivariant,
  renderHlsTs,
} from "./mod.ts";
import { audio, video } from "./test_helpers.ts";

const URIS = { videoUri: "video.m3u8", audioUri: "audio.m3u8" };
const BASE = "http://recorder.test/cam1/";

/** hls.js's own playlist parser, as an independent reader of what was rendered. */
function readMedia(text: string): LevelDetails {
  return M3U8Parser.parseLevelPlaylist(text, `${BASE}video.m3u8`, 0, PlaylistLevelType.MAIN, 0, null);
}

/** Each fragment as [sn, cc, start s, duration s, file, init file, program date-time]. */
function fragments(details: LevelDetails): [number, number, number, number, string, string, string][] {
  return details.fragments.map((f) => [
    f.sn as number,
    f.cc,
    Math.round(f.start * 1000) / 1000,
    f.duration,
    f.url.slice(BASE.length),
    f.initSegment?.url.slice(BASE.length) ?? "(no init)",
    f.programDateTime === null ? "(no date)" : new Date(f.programDateTime).toISOString(),
  ]);
}

function oneRecording(status: PeriodIndex["status"]): RecordingIndex {
  return {
    version: 1,
    streamId: "cam1",
    periods: [{
      recordId: "rec-1",
      startedAt: "2025-07-24T10:00:00.000Z",
      status,
      video: video([[0, 540000], [540000, 540000], [1080000, 360000]], { bandwidthBps: 1_000_000 }),
      audio: audio([[0, 288000], [288000, 288000], [576000, 196800]]),
    }],
  };
}

function twoRecordings(lastStatus: PeriodIndex["status"]): RecordingIndex {
  return {
    version: 1,
    streamId: "cam1",
    periods: [
      {
        recordId: "rec-1",
        startedAt: "2025-07-24T09:00:00.000Z",
        status: "finished",
        video: video([[0, 540000], [540000, 585000]]), // 6 s + 6.5 s
        audio: audio([[0, 288000], [288000, 312000]]),
      },
      {
        recordId: "rec-2",
        startedAt: "2025-07-24T10:00:00.000Z",
        status: lastStatus,
        video: video([[0, 540000], [540000, 540000]], { init: "init_2.m4s", startNumber: 3 }),
        audio: audio([[0, 288000], [288000, 288000]], { init: "audio_init_2.m4s", startNumber: 3 }),
      },
    ],
  };
}

Deno.test("renderHlsMedia: a finished recording is an EVENT playlist with one MAP, its start date and an ENDLIST", () => {
  const index = oneRecording("finished");
  assert.equal(
    renderHlsMedia(index, "video"),
    `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-PLAYLIST-TYPE:EVENT
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init.m4s"
#EXT-X-PROGRAM-DATE-TIME:2025-07-24T10:00:00.000Z
#EXTINF:6.000,
seg_0001.m4s
#EXTINF:6.000,
seg_0002.m4s
#EXTINF:4.000,
seg_0003.m4s
#EXT-X-ENDLIST
`,
  );
  assert.equal(
    renderHlsMedia(index, "audio"),
    `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-PLAYLIST-TYPE:EVENT
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="audio_init.m4s"
#EXT-X-PROGRAM-DATE-TIME:2025-07-24T10:00:00.000Z
#EXTINF:6.000,
audio_seg_0001.m4s
#EXTINF:6.000,
audio_seg_0002.m4s
#EXTINF:4.100,
audio_seg_0003.m4s
#EXT-X-ENDLIST
`,
  );
});

Deno.test("renderHlsMultivariant ties the video playlist to the audio one as its default AUDIO rendition", () => {
  assert.equal(
    renderHlsMultivariant(oneRecording("finished"), URIS),
    `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=1064000,CODECS="avc1.42c01f,opus",RESOLUTION=1280x720,FRAME-RATE=30.000,AUDIO="audio"
video.m3u8
`,
  );
});

Deno.test("renderHlsMedia: a second recording follows a discontinuity with its own MAP and date; live has no ENDLIST", () => {
  const live = renderHlsMedia(twoRecordings("recording"), "video");
  assert.equal(
    live,
    `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:7
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-PLAYLIST-TYPE:EVENT
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init.m4s"
#EXT-X-PROGRAM-DATE-TIME:2025-07-24T09:00:00.000Z
#EXTINF:6.000,
seg_0001.m4s
#EXTINF:6.500,
seg_0002.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="init_2.m4s"
#EXT-X-PROGRAM-DATE-TIME:2025-07-24T10:00:00.000Z
#EXTINF:6.000,
seg_0003.m4s
#EXTINF:6.000,
seg_0004.m4s
`,
  );
  // Finishing only appends the ENDLIST, as RFC 8216 §6.2.1 allows of a live playlist.
  assert.equal(renderHlsMedia(twoRecordings("finished"), "video"), `${live}#EXT-X-ENDLIST\n`);
});

Deno.test("hls.js reads the playlists back: live, fragment times, continuity counters, inits and dates", () => {
  const live = readMedia(renderHlsMedia(twoRecordings("recording"), "video"));
  assert.equal(live.live, true);
  assert.equal(live.type, "EVENT");
  assert.equal(live.targetduration, 7);
  assert.deepEqual(fragments(live), [
    [1, 0, 0, 6, "seg_0001.m4s", "init.m4s", "2025-07-24T09:00:00.000Z"],
    [2, 0, 6, 6.5, "seg_0002.m4s", "init.m4s", "2025-07-24T09:00:06.000Z"],
    [3, 1, 12.5, 6, "seg_0003.m4s", "init_2.m4s", "2025-07-24T10:00:00.000Z"],
    [4, 1, 18.5, 6, "seg_0004.m4s", "init_2.m4s", "2025-07-24T10:00:06.000Z"],
  ]);
  assert.equal(readMedia(renderHlsMedia(twoRecordings("finished"), "video")).live, false);

  const multivariant = M3U8Parser.parseMasterPlaylist(renderHlsMultivariant(twoRecordings("finished"), URIS), BASE);
  assert.deepEqual(
    multivariant.levels.map((l) => [l.url, l.videoCodec, l.audioCodec, l.width, l.height, l.bitrate]),
    [[`${BASE}video.m3u8`, "avc1.42c01f", "opus", 1280, 720, 1064001]],
  );
  const media = M3U8Parser.parseMasterPlaylistMedia(renderHlsMultivariant(twoRecordings("finished"), URIS), BASE, {
    ...multivariant,
  });
  assert.deepEqual(
    media.AUDIO?.map((a) => [a.url, a.groupId, a.default, a.autoselect, a.channels]),
    [[`${BASE}audio.m3u8`, "audio", true, true, "2"]],
  );
});

Deno.test("a live media playlist only grows: once written, every rendering begins with the one before it", () => {
  const index: RecordingIndex = { version: 1, streamId: "cam1", periods: [] };
  const steps: (() => void)[] = [
    () => index.periods.push({ recordId: "r1", startedAt: "2025-07-24T09:00:00Z", status: "recording" }),
    () => index.periods[0]!.video = video([]),
    () => index.periods[0]!.video!.segments.push({ startTicks: 0, durationTicks: 180000 }),
    () => index.periods[0]!.video!.segments.push({ startTicks: 180000, durationTicks: 180000 }),
    () => index.periods[0]!.status = "finished",
    () => index.periods.push({ recordId: "r2", startedAt: "2025-07-24T10:00:00Z", status: "recording" }),
    () => index.periods[1]!.audio = audio([[0, 96000]], { startNumber: 3 }),
    () => index.periods[1]!.video = video([[0, 180000]], { startNumber: 3, init: "init_2.m4s" }),
    () => index.periods[1]!.video!.segments.push({ startTicks: 180000, durationTicks: 180000 }),
  ];
  // A playlist is written once its track has a segment (hlsTracks); from then on it may only grow.
  let before: string | undefined;
  for (const [i, step] of steps.entries()) {
    step();
    if (!hlsTracks(index).includes("video")) continue;
    const after = renderHlsMedia(index, "video");
    if (before === undefined) {
      before = after;
      continue;
    }
    // Finishing appends an ENDLIST that a new recording in the same folder takes away again.
    const kept = before.endsWith("#EXT-X-ENDLIST\n") ? before.slice(0, -"#EXT-X-ENDLIST\n".length) : before;
    assert.ok(after.startsWith(kept), `step ${i}:\n${before}\n---\n${after}`);
    before = after;
  }
  assert.equal(readMedia(before ?? "").fragments.length, 4);
});

Deno.test("segment numbers are zero-padded to four digits and grow wider past 9999", () => {
  const index: RecordingIndex = {
    version: 1,
    streamId: "cam1",
    periods: [{
      recordId: "r",
      startedAt: "2025-07-24T10:00:00Z",
      status: "finished",
      video: video([[0, 90000], [90000, 90000], [180000, 90000]], { startNumber: 9998 }),
    }],
  };
  const playlist = renderHlsMedia(index, "video");
  assert.match(playlist, /^#EXT-X-MEDIA-SEQUENCE:9998$/m);
  assert.deepEqual(playlist.split("\n").filter((line) => line.endsWith(".m4s")), [
    "seg_9998.m4s",
    "seg_9999.m4s",
    "seg_10000.m4s",
  ]);
});

Deno.test("expandNumberTemplate substitutes $Number$ with and without a width, and $$", () => {
  const cases: [string, number, string][] = [
    ["seg_$Number%04d$.m4s", 7, "seg_0007.m4s"],
    ["seg_$Number%04d$.m4s", 12345, "seg_12345.m4s"],
    ["audio_seg_$Number%06d$.m4s", 42, "audio_seg_000042.m4s"],
    ["x$Number$.m4s", 5, "x5.m4s"],
    ["a$$b_$Number%02d$", 3, "a$b_03"],
    ["plain.m4s", 9, "plain.m4s"],
  ];
  for (const [template, number, name] of cases) assert.equal(expandNumberTemplate(template, number), name, template);
  assert.throws(() => expandNumberTemplate("seg_$Time$.m4s", 1), { message: /unsupported identifier \$Time\$/ });
  assert.throws(() => expandNumberTemplate("seg_$Number.m4s", 1), { message: /unpaired/ });
});

Deno.test("object names become percent-encoded URIs, and a value that cannot be quoted is refused", () => {
  const index: RecordingIndex = {
    version: 1,
    streamId: "cam1",
    periods: [{
      recordId: "r",
      startedAt: "2025-07-24T10:00:00Z",
      status: "finished",
      video: video([[0, 90000]], { init: 'rec 1/init"#.m4s', media: "rec 1/seg?$Number$\n.m4s" }),
    }],
  };
  const lines = renderHlsMedia(index, "video").split("\n");
  assert.ok(lines.includes('#EXT-X-MAP:URI="rec%201/init%22%23.m4s"'), lines.join("\n"));
  assert.ok(lines.includes("rec%201/seg%3F1%0A.m4s"), lines.join("\n"));
  assert.match(
    renderHlsMultivariant(index, { videoUri: "v 1.m3u8", audioUri: "a.m3u8" }),
    /\nv%201\.m3u8\n$/,
  );
  index.periods[0]!.video!.codecs = 'avc1"';
  assert.throws(() => renderHlsMultivariant(index, URIS), { message: /cannot be an HLS quoted-string/ });
});

Deno.test("renderHlsMedia stretches a segment over a gap after it and dates a late first segment", () => {
  const index: RecordingIndex = {
    version: 1,
    streamId: "radio",
    periods: [{
      recordId: "r",
      startedAt: "2025-07-24T10:00:00.000Z",
      status: "finished",
      audio: audio([[2400, 288000], [290400, 288000], [600000, 288000], [888000, 100000]]),
    }],
  };
  // Starts at 50 ms, 6.05 s, 12.5 s (0.45 s after the one before ends), 18.5 s; the last ends at 20.583 s.
  assert.deepEqual(fragments(readMedia(renderHlsMedia(index, "audio"))), [
    [1, 0, 0, 6, "audio_seg_0001.m4s", "audio_init.m4s", "2025-07-24T10:00:00.050Z"],
    [2, 0, 6, 6.45, "audio_seg_0002.m4s", "audio_init.m4s", "2025-07-24T10:00:06.050Z"],
    [3, 0, 12.45, 6, "audio_seg_0003.m4s", "audio_init.m4s", "2025-07-24T10:00:12.500Z"],
    [4, 0, 18.45, 2.083, "audio_seg_0004.m4s", "audio_init.m4s", "2025-07-24T10:00:18.500Z"],
  ]);
  assert.match(renderHlsMedia(index, "audio"), /^#EXT-X-TARGETDURATION:7$/m);
});

Deno.test("EXTINF rounding never accumulates: 1000 segments of 222.444 ms add up to the recording's length", () => {
  const pairs: [number, number][] = Array.from({ length: 1000 }, (_, i) => [i * 20020, 20020]);
  const index: RecordingIndex = {
    version: 1,
    streamId: "cam1",
    periods: [{ recordId: "r", startedAt: "2025-07-24T10:00:00Z", status: "finished", video: video(pairs) }],
  };
  const durationsMs = readMedia(renderHlsMedia(index, "video")).fragments.map((f) => Math.round(f.duration * 1000));
  assert.ok(durationsMs.every((ms) => ms === 222 || ms === 223), "each EXTINF within a millisecond");
  assert.equal(durationsMs.reduce((a, b) => a + b, 0), Math.round((1000 * 20020) / 90));
  assert.match(renderHlsMedia(index, "video"), /^#EXT-X-TARGETDURATION:1$/m);
});

Deno.test("a recording without a track still counts its discontinuity in that track's playlist", () => {
  const period = (n: number, status: PeriodIndex["status"], withAudio: boolean): PeriodIndex => ({
    recordId: `r${n}`,
    startedAt: `2025-07-24T0${n}:00:00.000Z`,
    status,
    video: video([[0, 180000]], { startNumber: n, init: `init_${n}.m4s` }),
    ...(withAudio ? { audio: audio([[0, 96000]], { startNumber: n, init: `audio_init_${n}.m4s` }) } : {}),
  });
  const index: RecordingIndex = {
    version: 1,
    streamId: "cam1",
    periods: [
      period(1, "finished", false),
      { recordId: "empty", startedAt: "2025-07-24T01:30:00Z", status: "finished", audio: audio([]) },
      period(2, "finished", true),
      period(3, "finished", false),
      period(4, "recording", true),
    ],
  };
  const audioPlaylist = renderHlsMedia(index, "audio");
  assert.equal(
    audioPlaylist,
    `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:2
#EXT-X-DISCONTINUITY-SEQUENCE:1
#EXT-X-PLAYLIST-TYPE:EVENT
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="audio_init_2.m4s"
#EXT-X-PROGRAM-DATE-TIME:2025-07-24T02:00:00.000Z
#EXTINF:2.000,
audio_seg_0002.m4s
#EXT-X-DISCONTINUITY
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="audio_init_4.m4s"
#EXT-X-PROGRAM-DATE-TIME:2025-07-24T04:00:00.000Z
#EXTINF:2.000,
audio_seg_0004.m4s
`,
  );
  // What a player matches audio to video by: the same continuity counter for the same recording.
  const cc = (text: string) => new Map(readMedia(text).fragments.map((f) => [f.initSegment?.url.slice(-6), f.cc]));
  const videoCc = cc(renderHlsMedia(index, "video"));
  assert.deepEqual([...videoCc.values()], [0, 1, 2, 3], "the empty recording counts nowhere");
  for (const [tail, audioCc] of cc(audioPlaylist)) assert.equal(audioCc, videoCc.get(tail), String(tail));
});

Deno.test("renderHlsMultivariant without audio, without video, and without any segment", () => {
  const base = { recordId: "r", startedAt: "2025-07-24T10:00:00Z", status: "finished" } as const;
  const only = (period: Partial<PeriodIndex>): RecordingIndex => ({
    version: 1,
    streamId: "s",
    periods: [{ ...base, ...period }],
  });
  const header = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  assert.equal(
    renderHlsMultivariant(only({ video: video([[0, 90000]], { bandwidthBps: 999_999.2 }), audio: audio([]) }), URIS),
    `${header}#EXT-X-STREAM-INF:BANDWIDTH=1000000,CODECS="avc1.42c01f",RESOLUTION=1280x720,FRAME-RATE=30.000
video.m3u8
`,
  );
  assert.equal(
    renderHlsMultivariant(only({ audio: audio([[0, 48000]]) }), URIS),
    `${header}#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="opus"\naudio.m3u8\n`,
  );
  assert.equal(renderHlsMultivariant(only({ video: video([]) }), URIS), header);
  assert.deepEqual(hlsTracks(only({ video: video([[0, 90000]]), audio: audio([]) })), ["video"]);
  assert.deepEqual(hlsTracks(only({ audio: audio([[0, 48000]]) })), ["audio"]);
  assert.deepEqual(hlsTracks(only({ video: video([]) })), []);
});

Deno.test("renderHlsMultivariant names every codec, the largest picture and the highest rates of all recordings", () => {
  const index: RecordingIndex = {
    version: 1,
    streamId: "cam1",
    periods: [
      {
        recordId: "r1",
        startedAt: "2025-07-24T09:00:00Z",
        status: "finished",
        video: video([[0, 90000]], { bandwidthBps: 2_000_000 }),
        audio: audio([[0, 48000]], { channels: 1, bandwidthBps: 32000 }),
      },
      {
        recordId: "r2",
        startedAt: "2025-07-24T10:00:00Z",
        status: "recording",
        video: video([[0, 90000]], {
          codecs: "avc1.64001f",
          widthPx: 640,
          heightPx: 360,
          frameRate: 29.97,
          bandwidthBps: 500_000,
        }),
        audio: audio([[0, 48000]]),
      },
    ],
  };
  assert.equal(
    renderHlsMultivariant(index, URIS).split("\n").slice(3, 5).join("\n"),
    `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=2064000,CODECS="avc1.42c01f,avc1.64001f,opus",RESOLUTION=1280x720,FRAME-RATE=30.000,AUDIO="audio"`,
  );
});

Deno.test("the HLS renderers refuse an index that breaks its invariants", () => {
  const index: RecordingIndex = {
    version: 1,
    streamId: "s",
    periods: [{
      recordId: "r",
      startedAt: "2025-07-24T10:00:00Z",
      status: "finished",
      video: video([[0, 100], [50, 100]]),
    }],
  };
  assert.throws(() => renderHlsMedia(index, "video"), { message: /overlaps/ });
  assert.throws(() => renderHlsMultivariant(index, URIS), { message: /overlaps/ });
  index.periods[0]!.video = video([[0, 100]]);
  index.periods[0]!.startedAt = "yesterday";
  assert.throws(() => renderHlsMedia(index, "video"), { message: /startedAt/ });
});

Deno.test("renderHlsMedia: a rotated period's date is its start, not shifted by the presentation time offset", () => {
  const index: RecordingIndex = {
    version: 1,
    streamId: "cam1",
    periods: [{
      recordId: "r2",
      startedAt: "2025-07-24T10:00:00.000Z",
      status: "finished",
      video: video([[900000, 180000]], { presentationTimeOffset: 900000 }),
    }],
  };
  assert.match(renderHlsMedia(index, "video"), /#EXT-X-PROGRAM-DATE-TIME:2025-07-24T10:00:00.000Z\n#EXTINF:2.000,/);
});

/** twoRecordings with MPEG-TS segments beside the fMP4 ones; the second recording started at media time 90 s. */
function twoRecordingsWithTs(lastStatus: PeriodIndex["status"]): RecordingIndex {
  const index = twoRecordings(lastStatus);
  const [first, second] = index.periods;
  first!.ts = {
    timescale: 90000,
    segments: [
      { name: "1753347600_1.ts", startTicks: 0, durationTicks: 540000 },
      { name: "1753347606_2.ts", startTicks: 540000, durationTicks: 585000 },
    ],
  };
  second!.ts = {
    timescale: 90000,
    presentationTimeOffset: 8_100_000,
    segments: [
      { name: "ts/1753351200_3.ts", startTicks: 8_100_000, durationTicks: 540000 },
      { name: "ts/1753351206_4.ts", startTicks: 8_640_000, durationTicks: 540000 },
    ],
  };
  return index;
}

Deno.test("renderHlsTs lists each recording's TS segments by name after a discontinuity and its date", () => {
  const live = renderHlsTs(twoRecordingsWithTs("recording"));
  assert.equal(
    live,
    `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:7
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:EVENT
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-PROGRAM-DATE-TIME:2025-07-24T09:00:00.000Z
#EXTINF:6.000,
1753347600_1.ts
#EXTINF:6.500,
1753347606_2.ts
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2025-07-24T10:00:00.000Z
#EXTINF:6.000,
ts/1753351200_3.ts
#EXTINF:6.000,
ts/1753351206_4.ts
`,
  );
  assert.equal(renderHlsTs(twoRecordingsWithTs("finished")), `${live}#EXT-X-ENDLIST\n`);
  assert.deepEqual(fragments(readMedia(live)), [
    [0, 0, 0, 6, "1753347600_1.ts", "(no init)", "2025-07-24T09:00:00.000Z"],
    [1, 0, 6, 6.5, "1753347606_2.ts", "(no init)", "2025-07-24T09:00:06.000Z"],
    [2, 1, 12.5, 6, "ts/1753351200_3.ts", "(no init)", "2025-07-24T10:00:00.000Z"],
    [3, 1, 18.5, 6, "ts/1753351206_4.ts", "(no init)", "2025-07-24T10:00:06.000Z"],
  ]);
});

Deno.test("renderHlsTs leaves out recordings without TS segments (refused: Opus audio), and hasTsSegments says so", () => {
  const index = twoRecordingsWithTs("finished");
  index.periods[0]!.ts = { timescale: 90000, segments: [], refused: "MPEG-TS cannot carry Opus" };
  assert.equal(hasTsSegments(index), true);
  assert.doesNotMatch(renderHlsTs(index), /DISCONTINUITY|_1\.ts/);
  delete index.periods[1]!.ts;
  assert.equal(hasTsSegments(index), false);
});
