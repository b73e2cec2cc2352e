/**
 * Reading OpenDAL's errors. The Node binding hands them over as plain `Error`s whose message is OpenDAL's Display
 * form — `NoSuchBucket`-style service codes included — so this parses that text: the error kind, whether OpenDAL
 * thinks it temporary, the service's error code and message. It also turns a failed backend probe into one
 * sentence for an operator. Pure; it never echoes the request context, which may carry URLs and headers.
 */

import { CREDENTIAL_KEYS } from "../config/mod.ts";
import { errorMessage } from "../shared/errors.ts";

/** What an OpenDAL error says, as far as this adapter needs it. */
export interface OpenDalFailure {
  /** OpenDAL's ErrorKind: "NotFound", "PermissionDenied", "ConfigInvalid", "Unexpected", ... ("" if unparsable). */
  kind: string;
  /** OpenDAL marked it temporary (worth a retry). */
  temporary: boolean;
  /** The operation that failed, e.g. "list", "write", "Builder::build". */
  operation: string;
  /** The service's own error code (S3 `NoSuchBucket`, OSS `SignatureDoesNotMatch`), when the response had one. */
  code: string | undefined;
  /** The service's message for `code`, or OpenDAL's own message. */
  detail: string;
}

/**
 * Parses `{Kind} ({permanent|temporary|persistent}) at {operation}, context: {...} => {message}[, source: ...]`,
 * where `{message}` is `S3Error { code: "...", message: "..." ... }` / `OssError { ... }` for service errors.
 */
export function parseOpenDalError(error: unknown): OpenDalFailure {
  const text = errorMessage(error);
  const head = /^(\w+) \((permanent|temporary|persistent)\) at ([^, ]*)/.exec(text);
  const arrow = text.indexOf(" => ");
  const tail = arrow < 0 ? text : text.slice(arrow + 4);
  const code = /\bcode: "([^"]*)"/.exec(tail)?.[1];
  const serviceMessage = /\bmessage: "([^"]*)"/.exec(tail)?.[1];
  return {
    kind: head?.[1] ?? "",
    temporary: head?.[2] === "temporary",
    operation: head?.[3] ?? "",
    code: code === "" ? undefined : code,
    detail: serviceMessage ?? tail,
  };
}

/** The backend a probe talked to, for messages: names only, never credentials. */
export interface ProbeTarget {
  scheme: string;
  bucket?: string | undefined;
  endpoint?: string | undefined;
  root?: string | undefined;
}

/** The credential options of `scheme` as written in `[recorder.storage]`, and the id's and secret's variables. */
function credentialNames(scheme: string): { id: string; secret: string; token: string; env: string } {
  if (scheme !== "s3" && scheme !== "oss") return { id: "access_key_id", secret: "secret", token: "token", env: "" };
  const [id, secret, token] = CREDENTIAL_KEYS[scheme];
  return { id: id.key, secret: secret.key, token: token.key, env: `${id.envName} / ${secret.envName}` };
}

const TOKEN_CODES = new Set([
  "InvalidToken",
  "ExpiredToken",
  "TokenRefreshRequired",
  "InvalidSecurityToken",
  "SecurityTokenExpired",
]);

/** `s3 bucket "rec" at http://127.0.0.1:9000`, `oss bucket "rec" at https://...`, `fs root "/var/rec"`. */
export function describeTarget(target: ProbeTarget): string {
  if (target.bucket === undefined) return `${target.scheme} root ${JSON.stringify(target.root ?? "/")}`;
  const where = target.endpoint ?? (target.scheme === "s3" ? "AWS S3" : "the default endpoint");
  return `${target.scheme} bucket ${JSON.stringify(target.bucket)} at ${where}`;
}

/**
 * One sentence saying why a probe of `target` failed, telling apart: credentials refused or missing, the bucket
 * missing, the endpoint unreachable, and incomplete settings. `failure` is from listing the root: on an object
 * store its NotFound means the bucket itself is missing, since a missing prefix lists as empty.
 */
export function probeProblem(target: ProbeTarget, failure: OpenDalFailure): string {
  const what = describeTarget(target);
  const keys = credentialNames(target.scheme);
  const code = failure.code;
  const cited = code === undefined ? "" : ` (${code}: ${failure.detail})`;
  if (code === "NoSuchBucket" || (failure.kind === "NotFound" && target.bucket !== undefined)) {
    return `${what}: the bucket does not exist${cited}; create it or fix "bucket" (and "endpoint")`;
  }
  if (code === "InvalidAccessKeyId") {
    return `${what}: bad credentials, the access key id is not known to the service${cited}; check "${keys.id}"`;
  }
  if (code === "SignatureDoesNotMatch") {
    return `${what}: bad credentials, the secret does not match the access key id${cited}; check "${keys.secret}"`;
  }
  if (code !== undefined && TOKEN_CODES.has(code)) {
    return `${what}: bad credentials, the temporary token was refused${cited}; check "${keys.token}" (it may ` +
      `have expired)`;
  }
  if (failure.kind === "PermissionDenied" && target.bucket === undefined) {
    return `${what}: permission denied (${failure.detail}); liverec must be able to read and write that directory`;
  }
  if (failure.kind === "PermissionDenied") {
    return `${what}: access denied${cited}; the credentials were accepted but may not list the bucket ` +
      `(check the key's policy or ACL)`;
  }
  if (/loading credential/i.test(failure.detail)) {
    return `${what}: no credentials could be loaded; set "${keys.id}" and "${keys.secret}"` +
      (keys.env === "" ? "" : ` or the environment variables ${keys.env}`);
  }
  if (/send http request|error sending request|dns error|connection refused/i.test(failure.detail)) {
    return `${what}: the endpoint is unreachable (no HTTP connection could be made); check "endpoint" and that ` +
      `the service is up`;
  }
  if (failure.kind === "ConfigInvalid") {
    return `${what}: the storage settings are incomplete or invalid: ${failure.detail}`;
  }
  const kind = failure.kind === "" ? "error" : failure.kind;
  return `${what}: the backend check failed (${kind}${code === undefined ? "" : ` ${code}`}): ${failure.detail}`;
}
