/**
 * Live DASH on a box with no internet: inside a loopback-only network namespace (`unshare --net`, root only), the
 * test clip is published over WHIP and the recording in progress is played live in stock dash.js, whose clock comes
 * from the MPD's UTCTiming (`GET /api/time`) instead of its default time server on the internet. Every request the
 * page makes must go to loopback, and the time must have been asked of the service.
 *
 * The outer test re-runs this file inside the namespace; where it cannot (not root, or no `unshare`), the inner test
 * runs on the machine's own network and says so: the request check still holds there.
 */

import assert from "node:assert/strict";
import { loadClip } from "../scripts/clip.ts";
import { advances, withPlayer } from "./helpers/player.ts";
import { objectUrl, publishInBackground, recordingStarted, startService, waitFor } from "./helpers/service.ts";

const IN_NAMESPACE = Deno.env.get("LIVEREC_OFFLINE_NETNS") === "1";
const INNER = "a live recording plays in dash.js with every request on loopback, its clock from /api/time";

async function canUnshare(): Promise<boolean> {
  if (Deno.uid() !== 0) return false;
  const probe = new Deno.Command("unshare", { args: ["--net", "true"], stdout: "null", stderr: "null" });
  return (await probe.output().catch(() => ({ success: false }))).success;
}

const namespace = !IN_NAMESPACE && await canUnshare();
if (!IN_NAMESPACE && !namespace) {
  console.log("offline_playback_e2e_test.ts: not root or no unshare: playing on the machine's own network instead");
}

Deno.test({
  name: "in a loopback-only network namespace: " + INNER,
  ignore: !namespace,
  async fn() {
    const self = new URL(import.meta.url).pathname;
    const inner = [Deno.execPath(), "test", "--allow-all", "--filter", INNER, self].map((arg) => `'${arg}'`).join(" ");
    const { code, stdout, stderr } = await new Deno.Command("unshare", {
      args: ["--net", "sh", "-c", `ip link set lo up && exec ${inner}`],
      env: { LIVEREC_OFFLINE_NETNS: "1", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 0, `the test inside the namespace passed\n${output}`);
    assert.match(output, /1 passed/, `it ran\n${output}`);
  },
});

Deno.test({
  name: INNER,
  ignore: namespace,
  async fn() {
    const clip = await loadClip();
    const service = await startService({ toml: `[recorder]\nauto_streams = ["offline-*"]\nsegment_duration = 2\n` });
    const publish = publishInBackground({ url: `${service.url}/whip/offline-1`, seconds: 14, clip });
    try {
      const { mpd_path: mpdPath } = await recordingStarted(service, "offline-1");
      const mpd = await waitFor("the live MPD to list segments", async () => {
        const text = await (await service.fetch(`/api/record/object/${mpdPath}`)).text();
        return /contentType="video"[\s\S]*<S [\s\S]*contentType="audio"[\s\S]*<S /.test(text) ? text : undefined;
      });
      assert.match(mpd, /<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="\/api\/time"\/>/);

      await withPlayer(objectUrl(service, mpdPath), async (player) => {
        const advanced = await advances(player, 2);
        assert.equal(publish.ended(), false, "played while the stream was still being published");
        assert.equal(advanced.dynamic, true, "played as live");
        assert.deepEqual(advanced.errors, [], "no dash.js or <video> errors");
        const requests = player.requests();
        const away = requests.filter((url) => !["127.0.0.1", "localhost"].includes(new URL(url).hostname));
        assert.deepEqual(away, [], `every request stays on loopback:\n${requests.join("\n")}`);
        assert.ok(requests.includes(`${service.url}/api/time`), `dash.js asked the service the time:\n${requests}`);
      });
    } finally {
      await publish.result.catch(() => {});
      await service.stop();
    }
  },
});
