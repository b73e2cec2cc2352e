import assert from "node:assert/strict";
import {
  formatDuration,
  periodDurationS,
  type PeriodIndex,
  type RecordingIndex,
  renderMpd,
  type TrackIndex,
} from "./mod.ts";
import { formatFrameRate, segmentTimeline } from "./mpd.ts";
import { audio, findAll, readXml, video } from "./test_helpers.ts";
import { serializeXml } from "./xml.ts";

const NOW = "2025-07-24T10:00:13.250Z";

Deno.test("renderMpd: one finished recording with video and audio is a static MPD", () => {
  const index: RecordingIndex = {
    version: 1,
    streamId: "cam1",
    periods: [{
      recordId: "rec-1",
      startedAt: "2025-07-24T10:00:00.000Z",
      status: "finished",
      video: video([[0, 540000], [540000, 540000], [1080000, 360000]]),
      audio: audio([[0, 288000], [288000, 288000], [576000, 196800]]),
    }],
  };
  assert.equal(
    renderMpd(index, { nowIso: NOW }),
    `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" mediaPresentationDuration="PT16.1S" minBufferTime="PT6S">
  <ProgramInformation>
    <Title>cam1</Title>
  </ProgramInformation>
  <Period id="rec-1" start="PT0S">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="video" codecs="avc1.42c01f" bandwidth="1000000" width="1280" height="720" frameRate="30">
        <SegmentTemplate timescale="90000" initialization="init.m4s" media="seg_$Number%04d$.m4s" startNumber="1">
          <SegmentTimeline>
            <S t="0" d="540000" r="1"/>
            <S d="360000"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="audio" codecs="opus" bandwidth="64000" audioSamplingRate="48000">
        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"/>
        <SegmentTemplate timescale="48000" initialization="audio_init.m4s" media="audio_seg_$Number%04d$.m4s" startNumber="1">
          <SegmentTimeline>
            <S t="0" d="288000" r="1"/>
            <S d="196800"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
`,
  );
});

Deno.test("renderMpd: finished recordings play back to back, each Period starting where the one before ends", () => {
  const index: RecordingIndex = {
    version: 1,
    streamId: "cam1",
    periods: [
      {
        recordId: "rec-1",
        startedAt: "2025-07-24T08:00:00.000Z",
        status: "finished",
        video: video([[0, 540000], [540000, 540000]], { init: "rec-1/init.m4s", media: "rec-1/seg_$Number$.m4s" }),
      },
      {
        recordId: "rec-2",
        startedAt: "2025-07-24T09:00:00.000Z",
        status: "finished",
        video: video([[0, 540000], [540000, 540000], [1080000, 540000]], {
          init: "rec-2/init.m4s",
          media: "rec-2/seg_$Number$.m4s",
          startNumber: 3,
          frameRate: 29.97,
        }),
        audio: audio([[0, 288000], [288000, 288000], [576000, 288000]], {
          init: "rec-2/audio_init.m4s",
          media: "rec-2/audio_seg_$Number$.m4s",
          startNumber: 3,
          channels: 1,
        }),
      },
    ],
  };
  assert.equal(
    renderMpd(index, { nowIso: NOW }),
    `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" mediaPresentationDuration="PT30S" minBufferTime="PT6S">
  <ProgramInformation>
    <Title>cam1</Title>
  </ProgramInformation>
  <Period id="rec-1" start="PT0S">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="video" codecs="avc1.42c01f" bandwidth="1000000" width="1280" height="720" frameRate="30">
        <SegmentTemplate timescale="90000" initialization="rec-1/init.m4s" media="rec-1/seg_$Number$.m4s" startNumber="1">
          <SegmentTimeline>
            <S t="0" d="540000" r="1"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
  </Period>
  <Period id="rec-2" start="PT12S">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="video" codecs="avc1.42c01f" bandwidth="1000000" width="1280" height="720" frameRate="30000/1001">
        <SegmentTemplate timescale="90000" initialization="rec-2/init.m4s" media="rec-2/seg_$Number$.m4s" startNumber="3">
          <SegmentTimeline>
            <S t="0" d="540000" r="2"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="audio" codecs="opus" bandwidth="64000" audioSamplingRate="48000">
        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="1"/>
        <SegmentTemplate timescale="48000" initialization="rec-2/audio_init.m4s" media="rec-2/audio_seg_$Number$.m4s" startNumber="3">
          <SegmentTimeline>
            <S t="0" d="288000" r="2"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
`,
  );
});

Deno.test("renderMpd: while the last recording records, the MPD is dynamic with its live edge at wall-clock time", () => {
  const index: RecordingIndex = {
    version: 1,
    streamId: "cam1",
    periods: [
      {
        recordId: "rec-1",
        startedAt: "2025-07-24T09:00:00.000Z",
        status: "finished",
        video: video([[0, 540000], [540000, 585000]]), // 12.5 s
      },
      {
        recordId: "rec-2",
        startedAt: "2025-07-24T10:00:00.000Z",
        status: "recording",
        video: video([[0, 540000], [540000, 540000]], { startNumber: 3 }), // 12 s
        audio: audio([[0, 288000], [288000, 288000]], { startNumber: 3 }),
      },
    ],
  };
  // availabilityStartTime = 10:00:00 - 12.5 s; timeShiftBufferDepth = (now - AST = 25.75 s) + 60 s margin;
  // minBufferTime = the longest segment (6.5 s); suggestedPresentationDelay = twice that.
  assert.equal(
    renderMpd(index, { nowIso: NOW }),
    `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="dynamic" availabilityStartTime="2025-07-24T09:59:47.500Z" publishTime="2025-07-24T10:00:13.250Z" minimumUpdatePeriod="PT2S" timeShiftBufferDepth="PT1M25.75S" suggestedPresentationDelay="PT13S" minBufferTime="PT6.5S">
  <ProgramInformation>
    <Title>cam1</Title>
  </ProgramInformation>
  <Period id="rec-1" start="PT0S" duration="PT12.5S">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="video" codecs="avc1.42c01f" bandwidth="1000000" width="1280" height="720" frameRate="30">
        <SegmentTemplate timescale="90000" initialization="init.m4s" media="seg_$Number%04d$.m4s" startNumber="1">
          <SegmentTimeline>
            <S t="0" d="540000"/>
            <S d="585000"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
  </Period>
  <Period id="rec-2" start="PT12.5S">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="video" codecs="avc1.42c01f" bandwidth="1000000" width="1280" height="720" frameRate="30">
        <SegmentTemplate timescale="90000" initialization="init.m4s" media="seg_$Number%04d$.m4s" startNumber="3">
          <SegmentTimeline>
            <S t="0" d="540000" r="1"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="audio" codecs="opus" bandwidth="64000" audioSamplingRate="48000">
        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"/>
        <SegmentTemplate timescale="48000" initialization="audio_init.m4s" media="audio_seg_$Number%04d$.m4s" startNumber="3">
          <SegmentTimeline>
            <S t="0" d="288000" r="1"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
`,
  );
});

Deno.test("renderMpd: an audio-only recording with a gap has no video AdaptationSet and covers the gap", () => {
  const index: RecordingIndex = {
    version: 1,
    streamId: "radio",
    periods: [{
      recordId: "rec-1",
      startedAt: "2025-07-24T10:00:00.000Z",
      status: "finished",
      video: video([]),
      audio: audio([[0, 288000], [288000, 288000], [600000, 288000], [888000, 100000]], { channels: 1 }),
    }],
  };
  // The last segment ends at 988000 / 48000 = 20.58333 s.
  assert.equal(
    renderMpd(index, { nowIso: NOW }),
    `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" mediaPresentationDuration="PT20.583S" minBufferTime="PT6S">
  <ProgramInformation>
    <Title>radio</Title>
  </ProgramInformation>
  <Period id="rec-1" start="PT0S">
    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="audio" codecs="opus" bandwidth="64000" audioSamplingRate="48000">
        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="1"/>
        <SegmentTemplate timescale="48000" initialization="audio_init.m4s" media="audio_seg_$Number%04d$.m4s" startNumber="1">
          <SegmentTimeline>
            <S t="0" d="288000" r="1"/>
            <S t="600000" d="288000"/>
            <S d="100000"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
`,
  );
});

Deno.test("segmentTimeline compresses contiguous equal durations with r and writes t after every gap", () => {
  const cases: { name: string; segments: [number, number][]; s: string[] }[] = [
    { name: "one segment", segments: [[0, 100]], s: ['<S t="0" d="100"/>'] },
    { name: "late first segment", segments: [[4800, 100], [4900, 100]], s: ['<S t="4800" d="100" r="1"/>'] },
    {
      name: "equal run then a different duration then equal again",
      segments: [[0, 100], [100, 100], [200, 100], [300, 50], [350, 100], [450, 100]],
      s: ['<S t="0" d="100" r="2"/>', '<S d="50"/>', '<S d="100" r="1"/>'],
    },
    {
      name: "a gap breaks a run of equal durations",
      segments: [[0, 100], [100, 100], [250, 100], [350, 100]],
      s: ['<S t="0" d="100" r="1"/>', '<S t="250" d="100" r="1"/>'],
    },
    {
      name: "all different",
      segments: [[0, 1], [1, 2], [3, 3]],
      s: ['<S t="0" d="1"/>', '<S d="2"/>', '<S d="3"/>'],
    },
  ];
  for (const { name, segments, s } of cases) {
    const xml = serializeXml(segmentTimeline(video(segments)));
    const lines = xml.trim().split("\n").map((line) => line.trim());
    assert.deepEqual(lines, ["<SegmentTimeline>", ...s, "</SegmentTimeline>"], name);
  }
});

Deno.test("every rendered MPD is well-formed XML and escapes every attribute value and text", () => {
  const hostile = `a&b<c>"d'e`;
  const index: RecordingIndex = {
    version: 1,
    streamId: `x&y<z>"'`,
    periods: [{
      recordId: hostile,
      startedAt: "2025-07-24T10:00:00Z",
      status: "recording",
      video: video([[0, 90000]], { codecs: `avc1"&`, init: "i&<.m4s", media: "s'$Number$\n.m4s" }),
    }],
  };
  const xml = renderMpd(index, { nowIso: NOW, utcTimingUrl: "/api/time?x=1&y=2" });
  const mpd = readXml(xml);
  assert.equal(mpd.name, "MPD");
  assert.equal(findAll(mpd, "Title")[0]?.text, `x&y<z>"'`);
  assert.equal(findAll(mpd, "Period")[0]?.attributes["id"], hostile);
  assert.equal(findAll(mpd, "Representation")[0]?.attributes["codecs"], `avc1"&`);
  const template = findAll(mpd, "SegmentTemplate")[0];
  assert.deepEqual([template?.attributes["initialization"], template?.attributes["media"]], [
    "i&<.m4s",
    "s'$Number$\n.m4s",
  ]);
  assert.deepEqual(findAll(mpd, "UTCTiming")[0]?.attributes, {
    schemeIdUri: "urn:mpeg:dash:utc:http-iso:2014",
    value: "/api/time?x=1&y=2",
  });
  // The checker itself rejects what it should, so the check above can fail.
  for (const bad of ["<a><b></a></b>", "<a x='1' x='2'/>", "<a>&nope;</a>", "<a>1 < 2</a>", "<a/><b/>", "<a>"]) {
    assert.throws(() => readXml(bad), { message: /not well-formed/ });
  }
});

Deno.test("renderMpd leaves out empty tracks and empty periods but keeps a recording one's clock", () => {
  const index: RecordingIndex = {
    version: 1,
    streamId: "cam1",
    periods: [
      { recordId: "empty", startedAt: "2025-07-24T08:00:00Z", status: "finished", video: video([]) },
      { recordId: "rec-1", startedAt: "2025-07-24T09:00:00Z", status: "finished", video: video([[0, 900000]]) },
      { recordId: "rec-2", startedAt: "2025-07-24T10:00:00Z", status: "recording", audio: audio([]) },
    ],
  };
  const mpd = readXml(renderMpd(index, { nowIso: NOW, minimumUpdatePeriodS: 1.5, suggestedPresentationDelayS: 4 }));
  assert.deepEqual(findAll(mpd, "Period").map((p) => p.attributes), [{
    id: "rec-1",
    start: "PT0S",
    duration: "PT10S",
  }]);
  assert.deepEqual(
    [
      mpd.attributes["type"],
      mpd.attributes["availabilityStartTime"],
      mpd.attributes["minimumUpdatePeriod"],
      mpd.attributes["suggestedPresentationDelay"],
    ],
    ["dynamic", "2025-07-24T09:59:50.000Z", "PT1.5S", "PT4S"],
  );
  assert.deepEqual(findAll(mpd, "UTCTiming"), []);
});

Deno.test("renderMpd treats an earlier period still marked recording as finished", () => {
  const index: RecordingIndex = {
    version: 1,
    streamId: "cam1",
    periods: [
      { recordId: "crashed", startedAt: "2025-07-24T09:00:00Z", status: "recording", video: video([[0, 90000]]) },
      { recordId: "rec-2", startedAt: "2025-07-24T10:00:00Z", status: "finished", video: video([[0, 90000]]) },
    ],
  };
  const mpd = readXml(renderMpd(index, { nowIso: NOW }));
  assert.deepEqual([mpd.attributes["type"], mpd.attributes["mediaPresentationDuration"]], ["static", "PT2S"]);
  assert.deepEqual(findAll(mpd, "Period").map((p) => p.attributes["start"]), ["PT0S", "PT1S"]);
});

Deno.test("renderMpd of an index without segments is a static MPD without periods", () => {
  const mpd = readXml(renderMpd({ version: 1, streamId: "cam1", periods: [] }, { nowIso: NOW }));
  assert.deepEqual([mpd.attributes["mediaPresentationDuration"], mpd.attributes["minBufferTime"]], ["PT0S", "PT2S"]);
  assert.deepEqual(findAll(mpd, "Period"), []);
});

Deno.test("renderMpd refuses an index that breaks its invariants", () => {
  const period = (track: TrackIndex): PeriodIndex => ({
    recordId: "r",
    startedAt: "2025-07-24T10:00:00Z",
    status: "finished",
    video: track,
  });
  const render = (...periods: PeriodIndex[]) => () =>
    renderMpd({ version: 1, streamId: "s", periods }, { nowIso: NOW });
  assert.throws(render(period(video([[0, 100], [50, 100]]))), { message: /overlaps/ });
  assert.throws(render(period(video([[0, 0]]))), { message: /no duration/ });
  assert.throws(render(period(video([[0.5, 10]]))), { message: /bad startTicks/ });
  assert.throws(render(period(video([[0, 10]], { timescale: 0 }))), { message: /bad timescale/ });
  assert.throws(render(period(video([[0, 10]])), period(video([[0, 10]]))), { message: /duplicate period id/ });
  assert.throws(() => renderMpd({ version: 1, streamId: "s", periods: [] }, { nowIso: "yesterday" }), {
    message: /nowIso/,
  });
});

Deno.test("periodDurationS is the longest track, measured to the end of its last segment", () => {
  const base = { recordId: "r", startedAt: "2025-07-24T10:00:00Z", status: "finished" } as const;
  assert.equal(periodDurationS({ ...base }), 0);
  assert.equal(periodDurationS({ ...base, video: video([[0, 540000], [540000, 540000]]) }), 12);
  assert.equal(
    periodDurationS({ ...base, video: video([[0, 90000]]), audio: audio([[0, 48000], [48000, 72000]]) }),
    2.5,
  );
  assert.equal(periodDurationS({ ...base, audio: audio([[4800, 48000]]) }), 1.1);
});

Deno.test("formatDuration writes whole-millisecond xs:durations without float noise", () => {
  const cases: [number, string][] = [
    [0, "PT0S"],
    [1, "PT0.001S"],
    [500, "PT0.5S"],
    [12345, "PT12.345S"],
    [12340, "PT12.34S"],
    [60000, "PT1M"],
    [85750, "PT1M25.75S"],
    [3600000, "PT1H"],
    [3661001, "PT1H1M1.001S"],
    [90000000, "PT25H"],
    [Math.round(0.1 * 3 * 1000), "PT0.3S"],
  ];
  for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, String(ms));
  assert.throws(() => formatDuration(0.5), { message: /whole non-negative milliseconds/ });
});

Deno.test("formatFrameRate writes integers, NTSC rates and reduced fractions", () => {
  const cases: [number, string][] = [[30, "30"], [25.0001, "25"], [29.97, "30000/1001"], [59.94006, "60000/1001"], [
    24.5,
    "49/2",
  ], [12.345, "2469/200"]];
  for (const [fps, text] of cases) assert.equal(formatFrameRate(fps), text, String(fps));
});

Deno.test("renderMpd: a rotated period starts at its presentation time offset; a spliced part gets its own id", () => {
  const index: RecordingIndex = {
    version: 1,
    streamId: "cam1",
    periods: [
      {
        recordId: "r2",
        startedAt: "2025-07-24T10:00:00.000Z",
        status: "finished",
        video: video([[900000, 180000]], { presentationTimeOffset: 900000 }),
      },
      {
        recordId: "r2",
        part: 2,
        startedAt: "2025-07-24T10:05:00.000Z",
        status: "finished",
        video: video([[0, 90000]]),
      },
    ],
  };
  const mpd = renderMpd(index, { nowIso: NOW });
  assert.match(mpd, /<Period id="r2" start="PT0S">/);
  assert.match(mpd, /<Period id="r2-2" start="PT2S">/, "the first period lasts 2 s, not 12");
  assert.match(mpd, /startNumber="1" presentationTimeOffset="900000">/);
  assert.match(mpd, /mediaPresentationDuration="PT3S"/);
  assert.equal(periodDurationS(index.periods[0]!), 2);
  assert.throws(
    () =>
      renderMpd({
        ...index,
        periods: [index.periods[0]!, { ...index.periods[1]!, part: 1 }, index.periods[1]!],
      }, { nowIso: NOW }),
    /duplicate period id "r2"/,
  );
});
