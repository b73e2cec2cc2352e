/**
 * The `[recorder.storage]` table: one of the fs, s3 or oss backends, validated, with credentials optionally taken
 * from the environment map it is given, and its mapping to OpenDAL service options. It never reads the process
 * environment or ~/.aws itself, and never echoes a credential in an error message.
 */

import { checkCredential, checkHttpUrl } from "./checks.ts";
import { relativePathProblem } from "./names.ts";
import { describe, type Section } from "./section.ts";

/** Local directory storage; `root` is used as given (relative roots resolve against the working directory). */
export interface FsStorageConfig {
  type: "fs";
  root: string;
}

/** Amazon S3 or an S3-compatible service (MinIO, Ceph, R2 ...). */
export interface S3StorageConfig {
  type: "s3";
  bucket: string;
  /** Prefix inside the bucket, "/" for the bucket root. */
  root: string;
  region?: string;
  /** Custom endpoint URL for S3-compatible services; absent means AWS. */
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Do not let the backend load credentials or region from the environment or ~/.aws. */
  disableConfigLoad: boolean;
  /** Address the bucket as `bucket.endpoint` instead of `endpoint/bucket`. */
  enableVirtualHostStyle: boolean;
  /** When > 0, stored objects are served as redirects to presigned URLs valid this long. */
  presignExpiresS: number;
  /** How long one request to the store may take before it fails (and is tried again), in seconds. */
  requestTimeoutS: number;
}

/** Alibaba Cloud OSS. */
export interface OssStorageConfig {
  type: "oss";
  bucket: string;
  /** Prefix inside the bucket, "/" for the bucket root. */
  root: string;
  /** E.g. "oss-cn-hangzhou"; informational, OpenDAL takes the region from `endpoint`. */
  region: string;
  endpoint: string;
  accessKeyId?: string;
  accessKeySecret?: string;
  securityToken?: string;
  /** When > 0, stored objects are served as redirects to presigned URLs valid this long. */
  presignExpiresS: number;
  /** How long one request to the store may take before it fails (and is tried again), in seconds. */
  requestTimeoutS: number;
}

/** Where recordings are stored. */
export type StorageConfig = FsStorageConfig | S3StorageConfig | OssStorageConfig;

/** The storage types, as written in `recorder.storage.type`. */
type StorageType = StorageConfig["type"];

const KEYS: Record<StorageType, readonly string[]> = {
  fs: ["type", "root"],
  s3: [
    "type",
    "bucket",
    "root",
    "region",
    "endpoint",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "disable_config_load",
    "enable_virtual_host_style",
    "presign_expires",
    "request_timeout",
  ],
  oss: [
    "type",
    "bucket",
    "root",
    "region",
    "endpoint",
    "access_key_id",
    "access_key_secret",
    "security_token",
    "presign_expires",
    "request_timeout",
  ],
};

const TYPES: readonly StorageType[] = ["fs", "s3", "oss"];

/** Default `root` per storage type. */
const DEFAULT_STORAGE_ROOT: Record<StorageType, string> = { fs: "./records", s3: "/", oss: "/" };

/** `request_timeout` when not given, in seconds. */
const DEFAULT_REQUEST_TIMEOUT_S = 60;

/** Longest `presign_expires`: S3 SigV4 refuses presigned URLs valid for more than 7 days, in seconds. */
export const MAX_PRESIGN_EXPIRES_S = 7 * 24 * 3600;

/** One credential option, the environment variable it falls back to, and its field in the storage config. */
interface CredentialKey<Field extends string> {
  key: string;
  envName: string;
  field: Field;
}

/** An object store's key id, secret and session token, in that order. */
type CredentialKeys<Field extends string> = readonly [
  id: CredentialKey<Field>,
  secret: CredentialKey<Field>,
  token: CredentialKey<Field>,
];

/** The credential options of each object-store type, as written in `[recorder.storage]`. */
export const CREDENTIAL_KEYS = {
  s3: [
    { key: "access_key_id", envName: "AWS_ACCESS_KEY_ID", field: "accessKeyId" },
    { key: "secret_access_key", envName: "AWS_SECRET_ACCESS_KEY", field: "secretAccessKey" },
    { key: "session_token", envName: "AWS_SESSION_TOKEN", field: "sessionToken" },
  ],
  oss: [
    { key: "access_key_id", envName: "ALIBABA_CLOUD_ACCESS_KEY_ID", field: "accessKeyId" },
    { key: "access_key_secret", envName: "ALIBABA_CLOUD_ACCESS_KEY_SECRET", field: "accessKeySecret" },
    { key: "security_token", envName: "ALIBABA_CLOUD_SECURITY_TOKEN", field: "securityToken" },
  ],
} as const satisfies Record<"s3" | "oss", CredentialKeys<string>>;

/** Reads and validates `[recorder.storage]`; `env` supplies credential fallbacks. */
export function parseStorage(section: Section, env: Readonly<Record<string, string | undefined>>): StorageConfig {
  const typeValue = section.string("type") ?? "fs";
  const type = TYPES.find((t) => t === typeValue);
  if (type === undefined) {
    throw section.error("type", `must be one of "fs", "s3", "oss", got ${describe(typeValue)}`);
  }
  section.rejectUnknownKeys(KEYS[type], (key) => {
    const owners = TYPES.filter((t) => t !== type && KEYS[t].includes(key));
    if (owners.length === 0) return undefined;
    return `is not valid with type = "${type}" (only with type = ${owners.map((t) => `"${t}"`).join(" or ")})`;
  });
  switch (type) {
    case "fs":
      return { type, root: fsRoot(section) };
    case "s3":
      return parseS3(section, env);
    case "oss":
      return parseOss(section, env);
  }
}

function fsRoot(section: Section): string {
  const root = section.string("root") ?? DEFAULT_STORAGE_ROOT.fs;
  // deno-lint-ignore no-control-regex
  if (root === "" || /[\u0000-\u001f\u007f]/.test(root)) {
    throw section.error("root", `must be a non-empty directory path without control characters, got ${describe(root)}`);
  }
  return root;
}

function bucketRoot(section: Section, type: StorageType): string {
  const root = section.string("root") ?? DEFAULT_STORAGE_ROOT[type];
  const inner = root.replace(/^\//, "").replace(/\/$/, "");
  if (inner !== "") {
    const problem = relativePathProblem(inner);
    if (problem !== undefined) {
      throw section.error("root", `must be "/" or a path inside the bucket such as "/recordings": ${problem}`);
    }
  }
  return root;
}

function required(section: Section, type: StorageType, key: string, what: string): string {
  const value = section.string(key);
  if (value === undefined) throw section.error(key, `is required with type = "${type}" (${what})`);
  return value;
}

function bucket(section: Section, type: StorageType): string {
  const value = required(section, type, "bucket", "the bucket name");
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value)) {
    throw section.error(
      "bucket",
      `must be 3–63 characters of a-z 0-9 . - starting and ending with a letter or digit, got ${describe(value)}`,
    );
  }
  return value;
}

function checkRegion(section: Section, value: string, source: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(value)) {
    throw section.error(
      "region",
      `must be 1–64 characters of A-Z a-z 0-9 _ - such as "us-east-1"${source}, got ${describe(value)}`,
    );
  }
  return value;
}

function endpoint(section: Section): string | undefined {
  const value = section.string("endpoint");
  if (value === undefined) return undefined;
  const problem = checkHttpUrl(value);
  if (problem !== undefined) throw section.error("endpoint", `${problem}, got ${describe(value)}`);
  return value;
}

/** A value that is set and non-empty; an exported-but-empty variable counts as unset. */
function envValue(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === "" ? undefined : value;
}

/**
 * Reads a key id, its secret and an optional session token, as the config fields named in `keys`. When none of
 * them is in the file and `useEnv` holds, all three come from the environment instead, so a key from the file is
 * never paired with a secret from the environment. The id and the secret must come together; a token needs both.
 */
function credentials<Field extends string>(
  section: Section,
  keys: CredentialKeys<Field>,
  env: Readonly<Record<string, string | undefined>>,
  useEnv: boolean,
): Partial<Record<Field, string>> {
  const fromEnv = useEnv && !keys.some(({ key }) => section.has(key));
  const values: Partial<Record<Field, string>> = {};
  for (const { key, envName, field } of keys) {
    const value = fromEnv ? envValue(env, envName) : section.string(key, true);
    if (value === undefined) continue;
    const problem = checkCredential(value);
    if (problem !== undefined) {
      const source = fromEnv ? ` (from environment variable ${envName})` : "";
      throw section.error(key, `${problem}${source}, got ${describe(value, true)}`);
    }
    values[field] = value;
  }
  const [id, secret, token] = keys;
  const missing = (absent: CredentialKey<Field>, present: CredentialKey<Field>) =>
    section.error(
      absent.key,
      `must be set when ${present.key} is` + (fromEnv ? ` (environment variable ${absent.envName} is not set)` : ""),
    );
  const has = (credential: CredentialKey<Field>) => values[credential.field] !== undefined;
  if (has(id) && !has(secret)) throw missing(secret, id);
  if (!has(id) && has(secret)) throw missing(id, secret);
  if (!has(id) && has(token)) throw missing(id, token);
  return values;
}

function parseS3(section: Section, env: Readonly<Record<string, string | undefined>>): S3StorageConfig {
  const bucketName = bucket(section, "s3");
  const root = bucketRoot(section, "s3");
  const disableConfigLoad = section.boolean("disable_config_load") ?? false;
  const useEnv = !disableConfigLoad;
  const fileRegion = section.string("region");
  const envRegion = useEnv ? envValue(env, "AWS_REGION") ?? envValue(env, "AWS_DEFAULT_REGION") : undefined;
  const region = fileRegion !== undefined
    ? checkRegion(section, fileRegion, "")
    : envRegion !== undefined
    ? checkRegion(section, envRegion, " (from AWS_REGION or AWS_DEFAULT_REGION)")
    : undefined;
  const url = endpoint(section);
  return {
    type: "s3",
    bucket: bucketName,
    root,
    ...(region !== undefined ? { region } : {}),
    ...(url !== undefined ? { endpoint: url } : {}),
    ...credentials(section, CREDENTIAL_KEYS.s3, env, useEnv),
    disableConfigLoad,
    enableVirtualHostStyle: section.boolean("enable_virtual_host_style") ?? false,
    presignExpiresS: presignExpires(section),
    requestTimeoutS: requestTimeout(section),
  };
}

function parseOss(section: Section, env: Readonly<Record<string, string | undefined>>): OssStorageConfig {
  const bucketName = bucket(section, "oss");
  const root = bucketRoot(section, "oss");
  const region = checkRegion(section, required(section, "oss", "region", 'e.g. "oss-cn-hangzhou"'), "");
  const url = endpoint(section);
  if (url === undefined) {
    throw section.error("endpoint", 'is required with type = "oss" (e.g. "https://oss-cn-hangzhou.aliyuncs.com")');
  }
  return {
    type: "oss",
    bucket: bucketName,
    root,
    region,
    endpoint: url,
    ...credentials(section, CREDENTIAL_KEYS.oss, env, true),
    presignExpiresS: presignExpires(section),
    requestTimeoutS: requestTimeout(section),
  };
}

/** `presign_expires`: 0 (off) or 1 s to 7 days, the longest a presigned URL may live. */
function presignExpires(section: Section): number {
  const seconds = section.number("presign_expires") ?? 0;
  if (!(Number.isInteger(seconds) && seconds >= 0 && seconds <= MAX_PRESIGN_EXPIRES_S)) {
    throw section.error(
      "presign_expires",
      `must be a whole number of seconds from 0 (off) to ${MAX_PRESIGN_EXPIRES_S}, got ${describe(seconds)}`,
    );
  }
  return seconds;
}

/**
 * `request_timeout`: 1 s to an hour, default 60. A store that takes a connection and never answers would otherwise
 * hold the upload queue for good; a slow uplink needs it above the time one upload part (8 MiB) takes.
 */
function requestTimeout(section: Section): number {
  const seconds = section.number("request_timeout") ?? DEFAULT_REQUEST_TIMEOUT_S;
  if (!(seconds >= 1 && seconds <= 3600)) {
    throw section.error("request_timeout", `must be from 1 to 3600 seconds, got ${describe(seconds)}`);
  }
  return seconds;
}

/**
 * The OpenDAL service scheme and options for `storage` (option names of OpenDAL's fs, s3 and oss services).
 * OSS has no region option: OpenDAL derives it from the endpoint.
 */
export function openDalOptions(storage: StorageConfig): { scheme: string; options: Record<string, string> } {
  const options: Record<string, string> = {};
  const put = (name: string, value: string | undefined) => {
    if (value !== undefined) options[name] = value;
  };
  switch (storage.type) {
    case "fs":
      put("root", storage.root);
      break;
    case "s3":
      put("bucket", storage.bucket);
      put("root", storage.root);
      // S3-compatible servers (MinIO) mostly ignore the region, but the signature needs one.
      put("region", storage.region ?? (storage.endpoint !== undefined ? "us-east-1" : undefined));
      put("endpoint", storage.endpoint);
      put("access_key_id", storage.accessKeyId);
      put("secret_access_key", storage.secretAccessKey);
      put("session_token", storage.sessionToken);
      // With keys given, OpenDAL must not add a session token of its own from the environment or ~/.aws.
      if (storage.disableConfigLoad || storage.accessKeyId !== undefined) put("disable_config_load", "true");
      // Off AWS there is no instance metadata service to ask for credentials, and asking can hang.
      if (storage.endpoint !== undefined) put("disable_ec2_metadata", "true");
      if (storage.enableVirtualHostStyle) put("enable_virtual_host_style", "true");
      break;
    case "oss":
      put("bucket", storage.bucket);
      put("root", storage.root);
      put("endpoint", storage.endpoint);
      put("access_key_id", storage.accessKeyId);
      put("access_key_secret", storage.accessKeySecret);
      put("security_token", storage.securityToken);
      break;
  }
  return { scheme: storage.type, options };
}
