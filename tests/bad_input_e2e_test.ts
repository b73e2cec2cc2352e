/**
 * Bad input end to end, against the running service: malformed and unsupported offers, hostile stream names,
 * base_dirs and object paths, unknown routes, and authentication. Every refusal is a JSON error that says why.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startService } from "./helpers/service.ts";
import { rawRequest } from "./helpers/raw_http.ts";

const UNRECORDABLE_OFFER = [
  "v=0",
  "o=- 1 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 98",
  "c=IN IP4 0.0.0.0",
  "a=mid:0",
  "a=sendonly",
  "a=rtpmap:96 H263-1998/90000",
  "a=rtpmap:98 VP9/90000",
  "a=fmtp:98 profile-id=7",
  "m=audio 9 UDP/TLS/RTP/SAVPF 0",
  "c=IN IP4 0.0.0.0",
  "a=mid:1",
  "a=sendonly",
  "a=rtpmap:0 PCMU/8000",
  "",
].join("\r\n");

async function errorOf(response: Response): Promise<{ status: number; code: string; message: string }> {
  const body = await response.json();
  return { status: response.status, code: body.error?.code, message: body.error?.message };
}

function postOffer(url: string, sdp: string, contentType = "application/sdp"): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": contentType }, body: sdp });
}

Deno.test("bad input gets a clear JSON error and nothing is written outside the storage root", async (t) => {
  const service = await startService();
  try {
    await t.step("a malformed SDP offer is a 400 that says what is malformed", async () => {
      const error = await errorOf(await postOffer(`${service.url}/whip/s1`, "hello world"));
      assert.equal(error.status, 400);
      assert.match(error.message, /malformed SDP/);
    });

    await t.step("an offer with nothing recordable is a 422 naming what was offered and what is recorded", async () => {
      const error = await errorOf(await postOffer(`${service.url}/whip/s1`, UNRECORDABLE_OFFER));
      assert.equal(error.status, 422);
      assert.match(error.message, /H263-1998, VP9/);
      assert.match(error.message, /PCMU/);
      assert.match(error.message, /refused: VP9 profile-id must be 0, 1, 2 or 3, got "7"/);
      assert.match(error.message, /H264, VP9, AV1, H265, VP8/);
      assert.match(error.message, /opus/);
    });

    await t.step("an offer sent as another content type is a 415", async () => {
      const error = await errorOf(await postOffer(`${service.url}/whip/s1`, UNRECORDABLE_OFFER, "text/plain"));
      assert.equal(error.status, 415);
    });

    await t.step("hostile stream names are refused with 400 on WHIP and on the API", async () => {
      const names = [
        "%2e%2e",
        ".hidden",
        "a%2F..%2Fb",
        "a%5Cb",
        "a%00b",
        "a%0Ab",
        "a%20b",
        "x".repeat(129),
        "caf%C3%A9",
        "live/%2e%2e",
        "%2e%2e/x",
        "live/.hidden",
        "live/a%2Fb",
        "live%2F",
      ];
      for (const name of names) {
        const whip = await rawRequest(service.url, "POST", `/whip/${name}`);
        assert.equal(whip.status, 400, `WHIP ${name}: ${whip.body}`);
        const api = await rawRequest(service.url, "POST", `/api/record/${name}`);
        assert.equal(api.status, 400, `API ${name}: ${api.body}`);
      }
    });

    await t.step("hostile base_dirs are refused with 400 before anything is looked up", async () => {
      for (
        const baseDir of [
          "../x",
          "/abs",
          "a\\b",
          "a/../b",
          "%2e%2e/x",
          "a//b",
          "a\u0000b",
          "a/./b",
          "",
          "x".repeat(600),
        ]
      ) {
        const response = await service.fetch(`/api/record/s1`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ base_dir: baseDir }),
        });
        const error = await errorOf(response);
        assert.equal(error.status, 400, `base_dir ${JSON.stringify(baseDir)}: ${error.message}`);
        assert.match(error.message, /base_dir/);
      }
    });

    await t.step("a body that is not the expected JSON is a 400", async () => {
      for (const body of ["{", "[]", '{"base_dir": 5}', '{"basedir": "x"}']) {
        const error = await errorOf(await service.fetch(`/api/record/s1`, { method: "POST", body }));
        assert.equal(error.status, 400, body);
      }
    });

    await t.step("starting, stopping or ending what does not exist is a 404 with a message", async () => {
      const start = await errorOf(await service.fetch(`/api/record/nobody`, { method: "POST" }));
      assert.equal(start.status, 404);
      assert.match(start.message, /"nobody" is not being published/);
      const stop = await errorOf(await service.fetch(`/api/record/nobody`, { method: "DELETE" }));
      assert.equal(stop.status, 404);
      const status = await (await service.fetch(`/api/record/nobody`)).json();
      assert.equal(status.recording, false);
      const end = await errorOf(await fetch(`${service.url}/whip/nobody/123`, { method: "DELETE" }));
      assert.equal(end.status, 404);
    });

    await t.step("unknown routes are a JSON 404", async () => {
      const error = await errorOf(await service.fetch(`/no/such/route`));
      assert.equal(error.status, 404);
      assert.equal(error.code, "not_found");
    });

    await t.step("objects are served with their content type and HTTP ranges", async () => {
      const dir = join(service.root, "s1", "2026", "01", "02");
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeFile(join(dir, "seg_0001.m4s"), new Uint8Array(100).map((_, i) => i));
      await Deno.writeTextFile(join(dir, "manifest.mpd"), "<MPD/>");
      const mpd = await service.fetch(`/api/record/object/s1/2026/01/02/manifest.mpd`);
      assert.equal(mpd.headers.get("content-type"), "application/dash+xml");
      assert.equal(await mpd.text(), "<MPD/>");
      const whole = await service.fetch(`/api/record/object/s1/2026/01/02/seg_0001.m4s`);
      assert.equal(whole.status, 200);
      assert.equal(whole.headers.get("content-type"), "video/iso.segment");
      assert.equal((await whole.bytes()).length, 100);
      const part = await service.fetch(`/api/record/object/s1/2026/01/02/seg_0001.m4s`, {
        headers: { range: "bytes=10-19" },
      });
      assert.equal(part.status, 206);
      assert.equal(part.headers.get("content-range"), "bytes 10-19/100");
      assert.deepEqual([...await part.bytes()], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
      const suffix = await service.fetch(`/api/record/object/s1/2026/01/02/seg_0001.m4s`, {
        headers: { range: "bytes=-3" },
      });
      assert.deepEqual([...await suffix.bytes()], [97, 98, 99]);
      const outside = await service.fetch(`/api/record/object/s1/2026/01/02/seg_0001.m4s`, {
        headers: { range: "bytes=100-" },
      });
      assert.equal(outside.status, 416);
      await outside.body?.cancel();
      const missing = await service.fetch(`/api/record/object/s1/2026/01/02/seg_0002.m4s`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    });

    await t.step("object paths that could leave the storage root are refused", async () => {
      await Deno.writeTextFile(join(service.dir, "secret.txt"), "TOP-SECRET-CONTENT");
      const paths = [
        "../secret.txt",
        "%2e%2e/secret.txt",
        "%2E%2E%2Fsecret.txt",
        "s1/..%2F..%2Fsecret.txt",
        "%2Fetc%2Fpasswd",
        "..%5Csecret.txt",
        "s1%00/x",
        "s1/%2e/x",
      ];
      for (const path of paths) {
        const { status, body } = await rawRequest(service.url, "GET", `/api/record/object/${path}`);
        assert.ok(status === 400 || status === 404, `${path}: ${status} ${body}`);
        assert.ok(!body.includes("TOP-SECRET-CONTENT"), `${path} leaked ${body}`);
      }
    });
  } finally {
    await service.stop();
  }
});

Deno.test("with [auth] tokens, API and WHIP requests need a valid bearer token", async () => {
  const service = await startService({ toml: `[auth]\ntokens = ["s3cret-token", "live777"]\n` });
  try {
    const none = await service.fetch(`/api/record/s1`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="liverec"');
    assert.match((await errorOf(none)).message, /missing bearer token/);
    const wrong = await service.fetch(`/api/record/s1`, { headers: { authorization: "Bearer nope-nope" } });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const whip = await postOffer(`${service.url}/whip/s1`, UNRECORDABLE_OFFER);
    assert.equal(whip.status, 401);
    await whip.body?.cancel();
    const object = await service.fetch(`/api/record/object/x.mpd`);
    assert.equal(object.status, 401);
    await object.body?.cancel();
    const good = await service.fetch(`/api/record/s1`, { headers: { authorization: "Bearer s3cret-token" } });
    assert.equal(good.status, 200);
    assert.equal((await good.json()).recording, false);
    // live777's and Liveman's sample token is accepted too, with a warning at start.
    const short = await service.fetch(`/api/streams/`, { headers: { authorization: "Bearer live777" } });
    assert.equal(short.status, 200);
    assert.deepEqual(await short.json(), []);
    assert.match(service.logs(), /WARN .*1 of the \[auth\] tokens are shorter than 8 characters/);
  } finally {
    await service.stop();
  }
});

Deno.test("an invalid config stops start-up with one message naming the key, the value and what is allowed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liverec-config-" });
  const cases: [string, RegExp][] = [
    ["[recorder]\nsegment_duration = 0\n", /"recorder\.segment_duration" must be between 1 and 30 seconds, got 0/],
    [
      "[recorder]\nsegmnt_duration = 6\n",
      /"recorder\.segmnt_duration" is an unknown key \(allowed: .*segment_duration/,
    ],
    ['[recorder.storage]\ntype = "s3"\n', /"recorder\.storage\.bucket" is required/],
    ["[http\n", /not valid TOML/],
  ];
  for (const [toml, message] of cases) {
    const path = `${dir}/config.toml`;
    await Deno.writeTextFile(path, toml);
    const main = new URL("../main.ts", import.meta.url).pathname;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", main, "--config", path],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 2, stderr);
    assert.match(stderr, message);
    assert.equal(stderr.trim().split("\n")[0]!.startsWith("liverec: invalid config:"), true, stderr);
  }
});
