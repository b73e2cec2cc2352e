/**
 * The OpenDAL store against real network backends on loopback: an S3-compatible server (s3rver, a separate Node
 * process) and a stand-in OSS endpoint that checks and records the requests OpenDAL's oss service sends. Each
 * test starts its own servers and ends them. Config values go through config's `openDalOptions`, so the option
 * mapping is exercised too; the fs backend and the pure parts are covered beside the code in src/storage.
 */

import assert from "node:assert/strict";
import { openDalOptions, type OssStorageConfig, parseConfig, type S3StorageConfig } from "../src/config/mod.ts";
import { BadRequestError, NotFoundError, StorageError } from "../src/shared/errors.ts";
import { OpenDalStore, type OpenDalStoreOptions } from "../src/storage/opendal_store.ts";
import { type OssEndpoint, type OssRequest, startOssEndpoint } from "./helpers/oss_endpoint.ts";
import { type S3Server, s3StorageConfig, startS3Server } from "./helpers/s3_server.ts";

const MiB = 1024 * 1024;
const DAY = "cam/2026/11/21";

function s3Config(server: S3Server, extra: Partial<S3StorageConfig> = {}): S3StorageConfig {
  return { ...s3StorageConfig(server, "/recordings"), ...extra };
}

function s3Store(server: S3Server, extra: Partial<S3StorageConfig> = {}): OpenDalStore {
  return new OpenDalStore(openDalOptions(s3Config(server, extra)));
}

function ossStore(
  endpoint: OssEndpoint,
  extra: Partial<OssStorageConfig> = {},
  options: OpenDalStoreOptions = {},
): OpenDalStore {
  const config: OssStorageConfig = {
    type: "oss",
    presignExpiresS: 0,
    requestTimeoutS: 60,
    bucket: endpoint.bucket,
    root: "/rec",
    region: "oss-cn-hangzhou",
    endpoint: endpoint.endpoint,
    accessKeyId: endpoint.accessKeyId,
    accessKeySecret: endpoint.accessKeySecret,
    ...(endpoint.securityToken === undefined ? {} : { securityToken: endpoint.securityToken }),
    ...extra,
  };
  return new OpenDalStore(openDalOptions(config), options);
}

/** Deterministic, non-repeating bytes, so a misplaced part or range shows. */
function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

/** A recording's objects: init segments, media segments (one of `bigBytes`), the manifest and the index. */
function recording(bigBytes: number): Map<string, Uint8Array> {
  const text = new TextEncoder();
  return new Map<string, Uint8Array>([
    [`${DAY}/init.m4s`, bytes(1_234, 1)],
    [`${DAY}/audio_init.m4s`, bytes(567, 2)],
    [`${DAY}/seg_0001.m4s`, bytes(300_000, 3)],
    [`${DAY}/seg_0002.m4s`, bytes(bigBytes, 4)],
    [`${DAY}/audio_seg_0001.m4s`, bytes(20_000, 5)],
    [`${DAY}/manifest.mpd`, text.encode('<?xml version="1.0"?><MPD type="static"/>')],
    [`${DAY}/index.json`, text.encode('{"segments":2}')],
  ]);
}

/** Writes a recording, reads it back whole and in ranges (one across the part boundary), stats, lists, deletes. */
async function roundTrip(store: OpenDalStore, bigBytes: number, partBytes: number): Promise<void> {
  const objects = recording(bigBytes);
  for (const [key, data] of objects) await store.write(key, data);
  assert.deepEqual(await store.list("cam/"), [...objects.keys()].sort());
  assert.deepEqual(await store.list(`${DAY}/`), [...objects.keys()].sort());
  assert.deepEqual(await store.list(""), [...objects.keys()].sort());
  assert.deepEqual(await store.list("other/"), []);
  for (const [key, data] of objects) {
    assert.deepEqual(await store.stat(key), { sizeBytes: data.length }, key);
    assert.deepEqual(await store.read(key), data, key);
  }
  const big = objects.get(`${DAY}/seg_0002.m4s`)!;
  // Not `bytes=0-0`: s3rver 3.7.1 reads an end of 0 as "to the end" and sends the whole object.
  const ranges = [
    { start: 0, endInclusive: 9 },
    { start: 5, endInclusive: 5 },
    { start: partBytes - 100, endInclusive: partBytes + 99 },
    { start: big.length - 10, endInclusive: big.length - 1 },
  ];
  for (const range of ranges) {
    assert.deepEqual(
      await store.read(`${DAY}/seg_0002.m4s`, range),
      big.subarray(range.start, range.endInclusive + 1),
      JSON.stringify(range),
    );
  }
  assert.equal(await store.stat(`${DAY}/missing.m4s`), undefined);
  await assert.rejects(store.read(`${DAY}/missing.m4s`), NotFoundError);
  // A folder is not an object.
  assert.equal(await store.stat("cam/2026"), undefined);

  await store.delete(`${DAY}/seg_0001.m4s`);
  await store.delete(`${DAY}/seg_0001.m4s`); // deleting what is gone is not an error
  assert.equal(await store.stat(`${DAY}/seg_0001.m4s`), undefined);
  for (const key of objects.keys()) await store.delete(key);
  assert.deepEqual(await store.list("cam/"), []);
}

/** A port on 127.0.0.1 with nothing listening. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** Object keys a client might send, each of which must be refused before the backend is asked anything. */
const HOSTILE_KEYS = [
  "..",
  "../x.m4s",
  "cam/../../etc/passwd",
  decodeURIComponent("%2e%2e/%2e%2e/etc/passwd"), // what the HTTP layer hands over for "%2e%2e"
  "%2e%2e/x.m4s", // and what it would hand over if it forgot to decode
  "/etc/passwd",
  "cam\\..\\x.m4s",
  "cam/seg\u0000.m4s",
  "",
  "cam//seg.m4s",
  "./seg.m4s",
];

/** Every store call with `key`: each must reject with BadRequestError. */
async function assertRefused(store: OpenDalStore, key: string): Promise<void> {
  const label = JSON.stringify(key);
  await assert.rejects(store.write(key, new Uint8Array([1])), BadRequestError, label);
  await assert.rejects(store.read(key), BadRequestError, label);
  await assert.rejects(store.read(key, { start: 0, endInclusive: 0 }), BadRequestError, label);
  await assert.rejects(store.stat(key), BadRequestError, label);
  await assert.rejects(store.delete(key), BadRequestError, label);
  await assert.rejects(store.presignRead(key, 60), BadRequestError, label);
  if (key !== "") await assert.rejects(store.list(`${key}/`), BadRequestError, label);
}

// ---------------------------------------------------------------------------------------------------------------
// S3 (s3rver)

Deno.test("s3 store round-trips a recording on s3rver, a 12 MiB segment sent as a multipart upload", async () => {
  await using server = await startS3Server({ bucket: "liverec-test" });
  const store = s3Store(server);
  assert.equal(await store.check(), undefined);
  await roundTrip(store, 12 * MiB, 8 * MiB);
  // The 12 MiB segment went up in parts (8 MiB + 4 MiB); everything else in single PUTs.
  assert.match(server.logs(), /recordings\/cam\/2026\/11\/21\/seg_0002\.m4s\?uploads /);
  assert.match(server.logs(), /seg_0002\.m4s\?partNumber=2&uploadId=/);
  assert.doesNotMatch(server.logs(), /seg_0001\.m4s\?uploads/);
});

Deno.test("s3 store lists past s3rver's 1000-key page by following continuation tokens", async () => {
  await using server = await startS3Server({ bucket: "liverec-test" });
  const store = s3Store(server);
  const keys = Array.from({ length: 1003 }, (_, i) => `cam/many/seg_${String(i).padStart(4, "0")}.m4s`);
  for (let at = 0; at < keys.length; at += 50) {
    await Promise.all(keys.slice(at, at + 50).map((key) => store.write(key, new Uint8Array([1]))));
  }
  assert.deepEqual(await store.list("cam/many/"), keys);
});

Deno.test("s3 credentials and region come from the environment when the config file has none", async () => {
  await using server = await startS3Server({ bucket: "liverec-test" });
  const toml = `[recorder.storage]\ntype = "s3"\nbucket = "${server.bucket}"\nroot = "/env"\n` +
    `endpoint = "${server.endpoint}"\n`;
  const env = {
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_REGION: "us-east-1",
  };
  const store = new OpenDalStore(openDalOptions(parseConfig(toml, env).recorder.storage));
  assert.equal(await store.check(), undefined);
  await store.write("cam/seg.m4s", bytes(1000, 7));
  assert.deepEqual(await store.read("cam/seg.m4s"), bytes(1000, 7));
  // The key id really came from the environment: a different one is refused.
  const wrong = new OpenDalStore(
    openDalOptions(parseConfig(toml, { ...env, AWS_ACCESS_KEY_ID: "AKIAUNKNOWN" }).recorder.storage),
  );
  assert.match((await wrong.check()) ?? "", /bad credentials.*InvalidAccessKeyId.*"access_key_id"/);
});

Deno.test("s3 check() names bad credentials, a missing bucket, an unreachable endpoint and a missing region", async () => {
  await using server = await startS3Server({ bucket: "liverec-test" });
  assert.equal(await s3Store(server).check(), undefined);

  const badKey = await s3Store(server, { accessKeyId: "AKIAUNKNOWN" }).check();
  assert.match(badKey ?? "", /^s3 bucket "liverec-test" at http:\/\/127\.0\.0\.1:\d+: bad credentials/);
  assert.match(badKey ?? "", /access key id is not known.*InvalidAccessKeyId.*check "access_key_id"/);

  const noBucket = await s3Store(server, { bucket: "no-such-bucket" }).check();
  assert.match(noBucket ?? "", /^s3 bucket "no-such-bucket" at .*: the bucket does not exist \(NoSuchBucket/);

  const closed = `http://127.0.0.1:${closedPort()}`;
  const unreachable = await s3Store(server, { endpoint: closed }).check();
  assert.equal(
    unreachable,
    `s3 bucket "liverec-test" at ${closed}: the endpoint is unreachable (no HTTP connection could be made); ` +
      `check "endpoint" and that the service is up`,
  );

  // OpenDAL refuses to build an s3 operator without a region: the store still constructs and says why. (Config
  // signs for us-east-1 when a custom endpoint has no region, so this takes options that bypass it.)
  const { region: _region, ...noRegion } = s3Config(server);
  const target = openDalOptions(noRegion);
  delete target.options.region;
  const regionless = new OpenDalStore(target);
  assert.match((await regionless.check()) ?? "", /cannot be used: .*region is missing/);
  await assert.rejects(regionless.write("cam/a.m4s", new Uint8Array([1])), StorageError);
  assert.equal(await new OpenDalStore(openDalOptions(noRegion)).check(), undefined, "config's us-east-1 works");

  // No credential in any message (s3rver's key id and secret are both "S3RVER").
  for (const problem of [badKey, noBucket, unreachable]) assert.doesNotMatch(problem ?? "", /S3RVER/);
});

Deno.test("s3 presigned read URL is fetchable with plain fetch, Range included", async () => {
  await using server = await startS3Server({ bucket: "liverec-test" });
  const store = s3Store(server);
  const data = bytes(100_000, 9);
  await store.write("cam/seg_0001.m4s", data);
  const url = await store.presignRead("cam/seg_0001.m4s", 300);
  assert.ok(url !== undefined);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/liverec-test\/recordings\/cam\/seg_0001\.m4s\?/);
  assert.match(url, /X-Amz-Expires=300/);
  const whole = await fetch(url);
  assert.equal(whole.status, 200);
  assert.deepEqual(new Uint8Array(await whole.arrayBuffer()), data);
  const part = await fetch(url, { headers: { range: "bytes=10-19" } });
  assert.equal(part.status, 206);
  assert.deepEqual(new Uint8Array(await part.arrayBuffer()), data.subarray(10, 20));
  const missing = await fetch((await store.presignRead("cam/none.m4s", 60))!);
  await missing.body?.cancel();
  assert.equal(missing.status, 404);
});

Deno.test("s3 outage: calls fail with StorageError and check() says unreachable; after restart the data is there", async () => {
  await using server = await startS3Server({ bucket: "liverec-test" });
  const store = s3Store(server);
  await store.write("cam/seg_0001.m4s", bytes(5000, 11));
  await server.kill();
  await assert.rejects(store.write("cam/seg_0002.m4s", bytes(10, 12)), StorageError);
  await assert.rejects(store.read("cam/seg_0001.m4s"), StorageError);
  assert.match((await store.check()) ?? "", /the endpoint is unreachable/);
  await server.restart();
  assert.equal(await store.check(), undefined);
  assert.deepEqual(await store.read("cam/seg_0001.m4s"), bytes(5000, 11));
  await store.write("cam/seg_0002.m4s", bytes(10, 12));
  assert.deepEqual(await store.list("cam/"), ["cam/seg_0001.m4s", "cam/seg_0002.m4s"]);
});

Deno.test("hostile keys are refused before any request reaches an s3 endpoint", async () => {
  let requests = 0;
  await using endpoint = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    requests++;
    return new Response("no", { status: 500 });
  });
  const store = new OpenDalStore(openDalOptions({
    type: "s3",
    bucket: "liverec-test",
    root: "/",
    region: "us-east-1",
    endpoint: `http://127.0.0.1:${endpoint.addr.port}`,
    accessKeyId: "AKIATEST",
    secretAccessKey: "secret",
    disableConfigLoad: true,
    enableVirtualHostStyle: false,
    presignExpiresS: 0,
    requestTimeoutS: 60,
  }));
  for (const key of HOSTILE_KEYS) await assertRefused(store, key);
  assert.equal(requests, 0);
  // The endpoint is live: a good key does reach it.
  await assert.rejects(store.stat("cam/seg.m4s"), StorageError);
  assert.ok(requests > 0);
});

// ---------------------------------------------------------------------------------------------------------------
// OSS (stand-in endpoint)

/** Requests for one object key, in order. */
function requestsFor(endpoint: OssEndpoint, key: string): OssRequest[] {
  return endpoint.requests.filter((request) => request.key === key);
}

Deno.test("oss store round-trips a recording; every request is signed, on the bucket's virtual host", async () => {
  await using endpoint = await startOssEndpoint({ securityToken: "sts-token-1", maxKeys: 3 });
  const store = ossStore(endpoint);
  assert.equal(await store.check(), undefined);
  await roundTrip(store, 20 * MiB, 8 * MiB);

  assert.ok(endpoint.requests.length > 20);
  for (const request of endpoint.requests) {
    const label = `${request.method} ${request.path}`;
    assert.equal(request.host, endpoint.virtualHost, label); // "127" + "." + "0.0.1:port"
    assert.ok(request.path === "/" || request.path.startsWith("/rec/cam/"), label); // no bucket in the path
    assert.match(request.authorization ?? "", /^OSS LTAI-test-key:[A-Za-z0-9+/]{27}=$/, label); // V1, HMAC-SHA1
    assert.equal(request.securityToken, "sts-token-1", label);
    // Nothing refused; 404 only for looking up what is not there (missing keys, a folder, deleted objects).
    assert.ok(request.status < 300 || (request.status === 404 && ["GET", "HEAD"].includes(request.method)), label);
  }
  // Listings go page by page (3 keys a page here) with ListObjectsV2 continuation tokens.
  const listings = endpoint.requests.filter((request) => request.path === "/" && request.method === "GET");
  assert.ok(listings.some((request) => request.query["continuation-token"] !== undefined));
  assert.ok(listings.every((request) => request.query["list-type"] === "2"));
});

Deno.test("oss store sends a large segment as initiate, ordered parts and complete; small ones in one PUT", async () => {
  await using endpoint = await startOssEndpoint();
  const store = ossStore(endpoint, {}, { partSizeBytes: 1 * MiB, partConcurrency: 2 });
  const big = bytes(3 * MiB + 12_345, 21);
  await store.write("cam/seg_0001.m4s", big);
  await store.write("cam/seg_0002.m4s", bytes(MiB, 22)); // exactly one part's worth: not multipart

  const sequence = requestsFor(endpoint, "rec/cam/seg_0001.m4s");
  assert.equal(sequence.length, 6);
  const [initiate, ...rest] = sequence;
  const complete = rest.pop()!;
  assert.equal(initiate!.method, "POST");
  assert.deepEqual(initiate!.query, { uploads: "" });
  const uploadId = rest[0]!.query.uploadId!;
  assert.ok(uploadId.length > 0);
  const parts = rest.map((request) => ({
    method: request.method,
    uploadId: request.query.uploadId,
    partNumber: Number(request.query.partNumber),
    bodyBytes: request.bodyBytes,
  })).sort((a, b) => a.partNumber - b.partNumber); // two in flight at once: arrival order may differ
  assert.deepEqual(parts, [
    { method: "PUT", uploadId, partNumber: 1, bodyBytes: MiB },
    { method: "PUT", uploadId, partNumber: 2, bodyBytes: MiB },
    { method: "PUT", uploadId, partNumber: 3, bodyBytes: MiB },
    { method: "PUT", uploadId, partNumber: 4, bodyBytes: 12_345 },
  ]);
  assert.equal(complete.method, "POST");
  assert.deepEqual(complete.query, { uploadId });
  assert.deepEqual(endpoint.object("rec/cam/seg_0001.m4s"), big);
  assert.deepEqual(await store.read("cam/seg_0001.m4s"), big);

  const single = requestsFor(endpoint, "rec/cam/seg_0002.m4s");
  assert.deepEqual(single.map((r) => [r.method, r.query, r.bodyBytes]), [["PUT", {}, MiB]]);
  // No security_token configured, none sent.
  assert.ok(endpoint.requests.every((request) => request.securityToken === null));
});

Deno.test("oss check() names a wrong secret, an unknown key, a refused STS token, a missing bucket, no endpoint", async () => {
  await using endpoint = await startOssEndpoint({ securityToken: "sts-token-1" });
  assert.equal(await ossStore(endpoint).check(), undefined);
  const where = `oss bucket "127" at ${endpoint.endpoint}`;

  assert.equal(
    await ossStore(endpoint, { accessKeySecret: "not-the-secret" }).check(),
    `${where}: bad credentials, the secret does not match the access key id (SignatureDoesNotMatch: The request ` +
      `signature we calculated does not match the signature you provided.); check "access_key_secret"`,
  );
  assert.match(
    (await ossStore(endpoint, { accessKeyId: "LTAI-unknown" }).check()) ?? "",
    /: bad credentials, the access key id is not known .*InvalidAccessKeyId.*check "access_key_id"$/,
  );
  assert.match(
    (await ossStore(endpoint, { securityToken: "sts-token-old" }).check()) ?? "",
    /: bad credentials, the temporary token was refused .*InvalidSecurityToken.*check "security_token"/,
  );

  await using noBucket = await startOssEndpoint({ bucketExists: false });
  assert.match(
    (await ossStore(noBucket).check()) ?? "",
    /^oss bucket "127" at http:\/\/0\.0\.1:\d+: the bucket does not exist \(NoSuchBucket: /,
  );

  const closed = `http://0.0.1:${closedPort()}`;
  assert.match((await ossStore(endpoint, { endpoint: closed }).check()) ?? "", /: the endpoint is unreachable/);
});

Deno.test("oss presigned read URL carries key id, expiry, signature and STS token, and plain fetch reads it", async () => {
  await using endpoint = await startOssEndpoint({ securityToken: "sts-token-1" });
  const store = ossStore(endpoint);
  const data = bytes(50_000, 31);
  await store.write("cam/seg_0001.m4s", data);
  const url = new URL((await store.presignRead("cam/seg_0001.m4s", 120))!);
  assert.equal(url.host, endpoint.virtualHost);
  assert.equal(url.pathname, "/rec/cam/seg_0001.m4s");
  assert.equal(url.searchParams.get("OSSAccessKeyId"), endpoint.accessKeyId);
  assert.equal(url.searchParams.get("security-token"), "sts-token-1");
  const expires = Number(url.searchParams.get("Expires"));
  assert.ok(Math.abs(expires - (Date.now() / 1000 + 120)) < 30, `Expires ${expires}`);
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.deepEqual(new Uint8Array(await response.arrayBuffer()), data);
  // The signature covers the key: the same query on another object is refused.
  const other = new URL(url);
  other.pathname = "/rec/cam/seg_0002.m4s";
  const refused = await fetch(other);
  assert.equal(refused.status, 403);
  assert.match(await refused.text(), /SignatureDoesNotMatch/);
});

Deno.test("hostile keys are refused before any request reaches an oss endpoint", async () => {
  await using endpoint = await startOssEndpoint();
  const store = ossStore(endpoint);
  for (const key of HOSTILE_KEYS) await assertRefused(store, key);
  assert.deepEqual(endpoint.requests, []);
});
