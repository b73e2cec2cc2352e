import assert from "node:assert/strict";
import { parseOpenDalError, probeProblem, type ProbeTarget } from "./opendal_errors.ts";

/** Messages as OpenDAL 0.55 (npm `opendal` 0.49.2) produced them against s3rver and the OSS stand-in. */
const CASES: {
  name: string;
  message: string;
  kind: string;
  temporary: boolean;
  operation: string;
  code: string | undefined;
  target: ProbeTarget;
  problem: RegExp;
}[] = [
  {
    name: "s3 missing bucket",
    message: "ConfigInvalid (permanent) at list, context: { uri: http://127.0.0.1:40267/missing-bucket?delimiter=%2F" +
      "&list-type=2&max-keys=1&prefix=rec%2F, response: Parts { status: 404 }, service: s3, path: /, listed: 0 } => " +
      'S3Error { code: "NoSuchBucket", message: "The specified bucket does not exist", resource: "", request_id: "" }',
    kind: "ConfigInvalid",
    temporary: false,
    operation: "list",
    code: "NoSuchBucket",
    target: { scheme: "s3", bucket: "missing-bucket", endpoint: "http://127.0.0.1:40267" },
    problem:
      /^s3 bucket "missing-bucket" at http:\/\/127\.0\.0\.1:40267: the bucket does not exist \(NoSuchBucket: The/,
  },
  {
    name: "s3 unknown key id",
    message: "PermissionDenied (permanent) at list, context: { uri: http://127.0.0.1:40267/b, service: s3 } => " +
      'S3Error { code: "InvalidAccessKeyId", message: "The AWS Access Key Id you provided does not exist in our ' +
      'records.", resource: "", request_id: "" }',
    kind: "PermissionDenied",
    temporary: false,
    operation: "list",
    code: "InvalidAccessKeyId",
    target: { scheme: "s3", bucket: "b", endpoint: "http://127.0.0.1:40267" },
    problem: /: bad credentials, the access key id is not known .*; check "access_key_id"$/,
  },
  {
    name: "oss wrong secret",
    message: "PermissionDenied (permanent) at list, context: { uri: http://127.0.0.1:1/?list-type=2, service: oss } " +
      '=> OssError { code: "SignatureDoesNotMatch", message: "The request signature we calculated does not match.", ' +
      'request_id: "E2", host_id: "127.loopback" }',
    kind: "PermissionDenied",
    temporary: false,
    operation: "list",
    code: "SignatureDoesNotMatch",
    target: { scheme: "oss", bucket: "rec", endpoint: "https://oss-cn-hangzhou.aliyuncs.com" },
    problem:
      /^oss bucket "rec" at https:\/\/oss-cn-hangzhou\.aliyuncs\.com: bad credentials, the secret does not .*"access_key_secret"$/,
  },
  {
    name: "s3 expired session token",
    message: 'PermissionDenied (permanent) at list, context: { service: s3 } => S3Error { code: "ExpiredToken", ' +
      'message: "The provided token has expired.", resource: "", request_id: "" }',
    kind: "PermissionDenied",
    temporary: false,
    operation: "list",
    code: "ExpiredToken",
    target: { scheme: "s3", bucket: "b" },
    problem: /^s3 bucket "b" at AWS S3: bad credentials, the temporary token was refused .*"session_token"/,
  },
  {
    name: "s3 access denied by policy",
    message: 'PermissionDenied (permanent) at list, context: { service: s3 } => S3Error { code: "AccessDenied", ' +
      'message: "Access Denied", resource: "", request_id: "" }',
    kind: "PermissionDenied",
    temporary: false,
    operation: "list",
    code: "AccessDenied",
    target: { scheme: "s3", bucket: "b" },
    problem: /: access denied \(AccessDenied: Access Denied\); the credentials were accepted/,
  },
  {
    name: "oss missing bucket answers a listing with NotFound",
    message: "NotFound (permanent) at list, context: { uri: http://127.0.0.1:2/?list-type=2, service: oss } => " +
      'OssError { code: "NoSuchBucket", message: "The specified bucket does not exist.", request_id: "3" }',
    kind: "NotFound",
    temporary: false,
    operation: "list",
    code: "NoSuchBucket",
    target: { scheme: "oss", bucket: "rec", endpoint: "http://x" },
    problem: /: the bucket does not exist \(NoSuchBucket/,
  },
  {
    name: "closed port",
    message: "Unexpected (temporary) at list, context: { url: http://127.0.0.1:1/b?list-type=2, called: " +
      "http_util::Client::send, service: s3, path: /, listed: 0 } => send http request, source: error sending " +
      "request for url (http://127.0.0.1:1/b?list-type=2)",
    kind: "Unexpected",
    temporary: true,
    operation: "list",
    code: undefined,
    target: { scheme: "s3", bucket: "b", endpoint: "http://127.0.0.1:1" },
    problem: /^s3 bucket "b" at http:\/\/127\.0\.0\.1:1: the endpoint is unreachable/,
  },
  {
    name: "no credentials anywhere",
    message: "Unexpected (temporary) at list, context: { called: reqsign::LoadCredential, service: s3, path: /, " +
      "listed: 0 } => loading credential to sign http request, source: request to AWS EC2 Metadata Services failed",
    kind: "Unexpected",
    temporary: true,
    operation: "list",
    code: undefined,
    target: { scheme: "s3", bucket: "b" },
    problem: /: no credentials could be loaded; set "access_key_id" and "secret_access_key" or the environment/,
  },
  {
    name: "s3 without region",
    message: "ConfigInvalid (permanent) at Builder::build, context: { service: s3 } => region is missing. Please " +
      "find it by S3::detect_region() or set them in env.",
    kind: "ConfigInvalid",
    temporary: false,
    operation: "Builder::build",
    code: undefined,
    target: { scheme: "s3", bucket: "b" },
    problem: /: the storage settings are incomplete or invalid: region is missing\./,
  },
  {
    name: "fs permission denied",
    message: "PermissionDenied (permanent) at list, context: { service: fs, path: / } => permission denied, " +
      "source: Permission denied (os error 13)",
    kind: "PermissionDenied",
    temporary: false,
    operation: "list",
    code: undefined,
    target: { scheme: "fs", root: "/var/rec" },
    problem: /^fs root "\/var\/rec": permission denied \(.*\); liverec must be able to read and write/,
  },
  {
    name: "something else",
    message: "RateLimited (temporary) at list, context: { service: s3 } => slow down",
    kind: "RateLimited",
    temporary: true,
    operation: "list",
    code: undefined,
    target: { scheme: "s3", bucket: "b" },
    problem: /: the backend check failed \(RateLimited\): slow down$/,
  },
];

Deno.test("parseOpenDalError reads kind, temporariness, operation and service code from OpenDAL messages", () => {
  for (const { name, message, kind, temporary, operation, code } of CASES) {
    const failure = parseOpenDalError(new Error(message));
    assert.deepEqual(
      { kind: failure.kind, temporary: failure.temporary, operation: failure.operation, code: failure.code },
      { kind, temporary, operation, code },
      name,
    );
  }
});

Deno.test("probeProblem tells credentials, missing bucket, unreachable endpoint and settings apart", () => {
  for (const { name, message, target, problem } of CASES) {
    assert.match(probeProblem(target, parseOpenDalError(new Error(message))), problem, name);
  }
});

Deno.test("parseOpenDalError copes with text that is not OpenDAL's", () => {
  assert.deepEqual(parseOpenDalError("boom"), {
    kind: "",
    temporary: false,
    operation: "",
    code: undefined,
    detail: "boom",
  });
});
