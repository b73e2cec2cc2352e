/**
 * Retention on a disk that fills up: the storage root is a 10 MiB tmpfs, and `min_free_disk = "50%"`. A long
 * audio-only recording runs the whole time while five short recordings of the clip are made one after another; the
 * oldest short ones are deleted in order as the disk fills (each logged and sent as `recording.deleted` with its
 * reason), the newest stay, and the long recording, in progress throughout, is never touched. Needs root (mount);
 * skipped with a message otherwise. Age-based deletion on S3 is in s3_e2e_test.ts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadClip } from "../scripts/clip.ts";
import { publishClip } from "../scripts/publish.ts";
import { decodeErrors } from "./helpers/media_tools.ts";
import { recordingFinished, recordStatus, startService, waitFor } from "./helpers/service.ts";
import { startWebhookReceiver, webhooksToml } from "./helpers/webhook_receiver.ts";

const SHORT = ["ret-1", "ret-2", "ret-3", "ret-4", "ret-5"];

/** Every file below `path` (none when it does not exist). */
async function filesUnder(path: string): Promise<string[]> {
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(path)) {
      if (entry.isDirectory) files.push(...await filesUnder(join(path, entry.name)));
      else files.push(join(path, entry.name));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return files;
}

async function mountTmpfs(dir: string, sizeMiB: number): Promise<boolean> {
  if (Deno.uid() !== 0) return false;
  const mount = new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", `size=${sizeMiB}m`, "tmpfs", dir] });
  return (await mount.output().catch(() => ({ success: false }))).success;
}

const dir = await Deno.makeTempDir({ prefix: "liverec-retention-" });
const root = join(dir, "records");
await Deno.mkdir(root);
const mounted = await mountTmpfs(root, 10);
if (!mounted) console.log("retention_e2e_test.ts skipped: not root, or no tmpfs mount here");

Deno.test({
  name: "a full disk: the oldest finished recordings are deleted in order, a recording in progress never",
  ignore: !mounted,
  async fn() {
    const clip = await loadClip();
    await using receiver = await startWebhookReceiver();
    const service = await startService({
      dir,
      storageRoot: root,
      toml: `[recorder]\nauto_streams = ["ret-*"]\nsegment_duration = 1\n\n` +
        `[recorder.retention]\nmin_free_disk = "50%"\ninterval = 1\n\n` + webhooksToml([receiver.url], receiver.secret),
    });
    try {
      const long = publishClip({ url: `${service.url}/whip/ret-live`, seconds: 40, clip, video: false });
      await waitFor("the long recording", async () => (await recordStatus(service, "ret-live")).recording || undefined);
      for (const stream of SHORT) {
        await publishClip({ url: `${service.url}/whip/${stream}`, seconds: 4, clip });
        await recordingFinished(service, stream);
        // The next one starts after retention had its look.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
      }
      const deleted = receiver.events("recording.deleted").map((event) =>
        event.data as unknown as { stream: string; reason: string }
      );
      const streams = deleted.map((event) => event.stream);
      console.log(`deleted, in order: ${streams.join(", ")}`);
      assert.ok(deleted.length >= 1, `something was deleted\n${service.logs()}`);
      assert.deepEqual(streams, SHORT.slice(0, streams.length), "the oldest first, in order");
      assert.ok(streams.length <= 3, `the newest stay: deleted ${streams}`);
      assert.ok(deleted.every((event) => event.reason === "min_free_disk"), JSON.stringify(deleted));
      assert.match(service.logs(), /recording deleted recordId=\S+ stream=ret-1 reason=min_free_disk/);

      const listing = await (await service.fetch("/api/recordings?from=2000-01-01T00:00:00Z&limit=100")).json();
      const indexed = (listing.recordings as { stream: string }[]).map((row) => row.stream);
      for (const stream of streams) assert.ok(!indexed.includes(stream), `${stream} left the index`);
      for (const stream of SHORT.slice(streams.length)) assert.ok(indexed.includes(stream), `${stream} is kept`);
      for (const stream of streams) assert.deepEqual(await filesUnder(join(root, stream)), [], `${stream} files gone`);

      // The recording in progress all along was never deleted, and is whole.
      const status = await recordStatus(service, "ret-live");
      assert.equal(status.recording, true, "the long recording still runs");
      await long;
      await recordingFinished(service, "ret-live");
      const live = await waitFor("the long recording in the index", async () => {
        const rows = (await (await service.fetch("/api/recordings?stream=ret-live&from=2000-01-01T00:00:00Z")).json())
          .recordings as { mpd_path: string; duration_s: number; state: string }[];
        return rows[0]?.state === "finished" ? rows[0] : undefined;
      });
      assert.ok(live.duration_s >= 38, `the long recording is whole: ${live.duration_s} s`);
      assert.equal(await decodeErrors(join(root, live.mpd_path)), "");
      const storage = await (await service.fetch("/api/storage")).json();
      assert.equal(storage.retention.deleted_recordings, streams.length);
      assert.equal(storage.retention.refusing_new, null);
    } finally {
      await service.stop();
      await new Deno.Command("umount", { args: [root] }).output();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
