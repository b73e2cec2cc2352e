import assert from "node:assert/strict";
import type { RecordingIndex } from "../manifest/mod.ts";
import { audio, video } from "../manifest/test_helpers.ts";
import { deleteRecording } from "./delete_recording.ts";
import { renderManifests, replaceManifests } from "./manifests.ts";
import { freshFiles } from "./test_sources.ts";

const NOW_ISO = "2026-12-07T10:00:10.000Z";
const DIR = "cam/2026/12/07";

/** Two recordings of one folder: r1 with MPEG-TS segments beside its fMP4 ones, r2 (`r2Segments` long) without. */
function folderIndex(r2Segments: [number, number][]): RecordingIndex {
  return {
    version: 1,
    streamId: "cam",
    periods: [
      {
        recordId: "r1",
        startedAt: "2026-12-07T10:00:00.000Z",
        status: "finished",
        video: video([[0, 180000]]),
        audio: audio([[0, 96000]]),
        ts: { timescale: 90000, segments: [{ name: "1796637600_1.ts", startTicks: 0, durationTicks: 180000 }] },
      },
      {
        recordId: "r2",
        startedAt: "2026-12-07T10:00:05.000Z",
        status: "recording",
        video: video(r2Segments, { init: "init_2.m4s", startNumber: 2 }),
      },
    ],
  };
}

Deno.test("before any track has a segment only the index is rendered: an MPD needs a Period", () => {
  const index = folderIndex([]);
  index.periods.shift();
  assert.deepEqual(renderManifests(index, NOW_ISO).map(({ name }) => name), ["index.json"]);
  index.periods[0]!.video = video([[0, 180000]], { init: "init_2.m4s" });
  assert.deepEqual(renderManifests(index, NOW_ISO).map(({ name }) => name), [
    "index.json",
    "manifest.mpd",
    "video.m3u8",
    "index.m3u8",
  ]);
});

Deno.test("deleting a recording removes the playlists that only it rendered, and keeps the rest's", async () => {
  const files = await freshFiles();
  const index = folderIndex([[180000, 180000]]);
  index.periods[1]!.status = "finished";
  await replaceManifests(files, DIR, index, Date.parse(NOW_ISO));
  const names = async () => (await files.local.list(`${DIR}/`)).map((key) => key.slice(DIR.length + 1));
  assert.ok((await names()).includes("ts.m3u8") && (await names()).includes("audio.m3u8"));

  const removed = await deleteRecording(files, { nowMs: () => Date.parse(NOW_ISO) }, DIR, "r1");
  assert.deepEqual(await names(), ["index.json", "index.m3u8", "manifest.mpd", "video.m3u8"]);
  // Its objects (not written here: deleting a missing one is no error) and the two playlists it alone had.
  assert.equal(removed, 2 + 2 + 1 + 2);
  assert.doesNotMatch(new TextDecoder().decode(await files.read(`${DIR}/manifest.mpd`)), /id="r1"/);
});
