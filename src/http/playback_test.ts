import assert from "node:assert/strict";
import { PlaybackSigner } from "./playback.ts";

const signer = new PlaybackSigner(new TextEncoder().encode("a key of thirty-two bytes, fixed"));
const NOW_MS = Date.UTC(2026, 11, 6, 12);
const EXPIRES_S = NOW_MS / 1000 + 3600;

/** The part of a signed path after `/play/`, as a request carries it. */
function rest(path: string): string {
  assert.ok(path.startsWith("/play/"), path);
  return path.slice("/play/".length);
}

Deno.test("a signed path opens the objects directly in its folder until it expires", () => {
  const path = signer.path("live/cam1/2026/12/06", "manifest.mpd", EXPIRES_S);
  assert.match(path, /^\/play\/\d+\/[A-Za-z0-9_-]{22}\/live\/cam1\/2026\/12\/06\/manifest\.mpd$/);
  assert.deepEqual(signer.check(rest(path), NOW_MS), { recordDir: "live/cam1/2026/12/06", file: "manifest.mpd" });
  // A player resolves segment names against the manifest's URL: they carry the same signature.
  const segment = rest(path).replace(/manifest\.mpd$/, "seg_0001.m4s");
  assert.deepEqual(signer.check(segment, NOW_MS), { recordDir: "live/cam1/2026/12/06", file: "seg_0001.m4s" });
  assert.match(JSON.stringify(signer.check(rest(path), EXPIRES_S * 1000)), /expired at 2026-12-06T13:00:00\.000Z/);
});

Deno.test("a tampered, moved or malformed playback path opens nothing, and says why", () => {
  const path = rest(signer.path("cam1/2026/12/06", "manifest.mpd", EXPIRES_S));
  const refused = (candidate: string) => {
    const result = signer.check(candidate, NOW_MS);
    assert.ok("refused" in result, `${candidate} opened ${JSON.stringify(result)}`);
    return result.refused;
  };
  const [expires, signature] = path.split("/");
  const flipped = signature!.replace(/^./, (c) => (c === "A" ? "B" : "A"));
  assert.match(refused(path.replace(signature!, flipped)), /signature does not match/);
  assert.match(refused(path.replace(expires!, String(Number(expires) + 86_400))), /signature does not match/);
  assert.match(refused(path.replace("cam1/", "cam2/")), /signature does not match/, "another folder");
  assert.match(refused(path.replace("06/manifest.mpd", "06/sub/manifest.mpd")), /signature/, "a subfolder");
  assert.match(refused(path.replace("06/manifest.mpd", "06/../06/manifest.mpd")), /signature|names no object/);
  assert.match(refused(`${expires}/${signature}/manifest.mpd`), /is \/play\/\{expires\}/);
  assert.match(refused(path.replace(expires!, "soon")), /not a time/);
  assert.match(refused(path.replace("manifest.mpd", "%E0%A4%A")), /percent-encoding/);
});
