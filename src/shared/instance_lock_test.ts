import assert from "node:assert/strict";
import { join } from "node:path";
import { LockedError, processAlive, takeLock } from "./instance_lock.ts";

Deno.test("takeLock refuses a live holder by PID, takes over a dead one's lock, and release removes only its own", async () => {
  const path = join(await Deno.makeTempDir({ prefix: "liverec-lock-" }), "state", "liverec.lock");
  const first = takeLock(path, 1111, () => true);
  assert.equal(await Deno.readTextFile(path), "1111\n");
  assert.throws(
    () => takeLock(path, 2222, () => true),
    (error: unknown) =>
      error instanceof LockedError && /another liverec \(pid 1111\) is using .*\/state; stop it/.test(error.message),
  );
  const second = takeLock(path, 2222, (pid) => pid !== 1111); // 1111 died without releasing
  assert.equal(await Deno.readTextFile(path), "2222\n");
  first.release(); // the dead one's handle must not remove the new holder's lock
  assert.equal(await Deno.readTextFile(path), "2222\n");
  second.release();
  second.release();
  await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
});

Deno.test("processAlive knows this process, and not a PID beyond the kernel's range", () => {
  assert.equal(processAlive(Deno.pid), true);
  assert.equal(processAlive(2 ** 30), false);
});
