/** The token check: exact matches only, whatever the lengths. */

import assert from "node:assert/strict";
import { tokenChecker } from "./token_check.ts";

Deno.test("tokenChecker accepts exactly the configured tokens", () => {
  const check = tokenChecker(["s3cret-token", "other"]);
  assert.equal(check("s3cret-token"), true);
  assert.equal(check("other"), true);
  for (const wrong of ["", "s3cret-toke", "s3cret-token2", "S3cret-token", "othe", "x"]) {
    assert.equal(check(wrong), false, JSON.stringify(wrong));
  }
  assert.equal(tokenChecker([])("anything"), false);
  assert.equal(tokenChecker([""])(""), true);
});
