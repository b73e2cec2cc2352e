/** Start-up with a storage backend that does not answer: the problem is logged clearly and the service runs. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startService } from "./helpers/service.ts";

Deno.test("an unreachable S3 endpoint is reported at start-up without refusing to start", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const dir = await Deno.makeTempDir({ prefix: "liverec-unreachable-" });
  const service = await startService({
    dir,
    toml: `[recorder]\nspool_dir = ${JSON.stringify(join(dir, "spool"))}\n\n[recorder.storage]\ntype = "s3"\n` +
      `bucket = "recordings"\nendpoint = "http://127.0.0.1:${port}"\naccess_key_id = "k"\nsecret_access_key = "s"\n`,
  });
  try {
    assert.match(service.logs(), /storage backend check failed; recording continues locally/);
    assert.match(service.logs(), /the endpoint is unreachable/);
    const status = await (await service.fetch("/api/storage")).json();
    assert.equal(status.localDir, join(dir, "spool"));
    assert.match(status.backend, /^s3:/);
    const health = await service.fetch("/healthz");
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true });
  } finally {
    await service.stop();
  }
});
