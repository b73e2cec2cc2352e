/**
 * A stand-in Alibaba Cloud OSS endpoint on loopback: just enough of the OSS REST API (put, get with Range, head,
 * delete, ListObjectsV2, batch delete, multipart upload) for OpenDAL's `oss` service, with objects kept in memory.
 * It checks what a real endpoint checks — the bucket's virtual host, the "OSS ak:signature" header signature (or a
 * presigned URL's), the STS security token — and records every request so tests can assert what OpenDAL sent.
 * It does not emulate ACLs, versioning, appends, copies or anything else liverec does not use.
 *
 * Addressing: OpenDAL always addresses an OSS bucket virtual-host style, `http://{bucket}.{endpoint host}`. On
 * loopback that name must still resolve: `{bucket}.localhost` does not here (glibc has no wildcard for it), and
 * `{bucket}.127.0.0.1` is refused by OpenDAL's URL parser as a malformed IPv4 address. So the endpoint is given to
 * OpenDAL as `http://0.0.1:{port}` with the bucket `127`: the virtual host OpenDAL builds is `127.0.0.1:{port}`, a
 * real address, and this server insists on exactly that Host header (and on object paths without the bucket), so a
 * path-style or wrongly built request fails here as it would against OSS.
 */

import { createHash, createHmac } from "node:crypto";

/** The bucket name that makes OpenDAL's virtual host `127.0.0.1` (see the file comment). */
export const OSS_BUCKET = "127";

/** One request as the endpoint saw it. */
export interface OssRequest {
  method: string;
  /** The raw request path, e.g. `/rec/cam/seg_0001.m4s` (virtual-host style: no bucket). */
  path: string;
  /** The object key (percent-decoded path without the leading "/"); "" for bucket-level requests. */
  key: string;
  /** Query parameters; sub-resources without a value (`uploads`, `delete`) map to "". */
  query: Record<string, string>;
  host: string | null;
  authorization: string | null;
  securityToken: string | null;
  /** Bytes in the request body. */
  bodyBytes: number;
  /** The status the endpoint answered with. */
  status: number;
}

/** A running OSS stand-in. */
export interface OssEndpoint {
  /** The `endpoint` option to give OpenDAL (see the file comment for why the host is `0.0.1`). */
  endpoint: string;
  /** Always OSS_BUCKET. */
  bucket: string;
  /** The Host header every request must carry: `{bucket}.{endpoint host}`. */
  virtualHost: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** The STS token requests must carry, when one was configured. */
  securityToken: string | undefined;
  /** Every request so far, in arrival order. */
  requests: OssRequest[];
  /** The stored object under a full key (the OpenDAL root prefix included), if any. */
  object(key: string): Uint8Array | undefined;
  /** Full keys of the stored objects, sorted. */
  objectKeys(): string[];
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options for startOssEndpoint. */
export interface OssEndpointOptions {
  accessKeyId?: string;
  accessKeySecret?: string;
  /** When set, every signed request must carry it as `x-oss-security-token` (or `security-token` when presigned). */
  securityToken?: string;
  /** False answers every request with 404 NoSuchBucket, as OSS does for a bucket that does not exist. */
  bucketExists?: boolean;
  /** Page size cap for listings (OSS allows up to 1000), to make OpenDAL follow continuation tokens. */
  maxKeys?: number;
}

interface StoredObject {
  data: Uint8Array;
  etag: string;
  lastModified: Date;
}

interface Upload {
  key: string;
  parts: Map<number, { data: Uint8Array; etag: string }>;
}

/** Signature sub-resources (the query parameters that are part of the signed resource), as OSS defines them. */
const SUB_RESOURCES = new Set([
  "acl",
  "uploads",
  "location",
  "cors",
  "logging",
  "website",
  "referer",
  "lifecycle",
  "delete",
  "append",
  "tagging",
  "objectMeta",
  "uploadId",
  "partNumber",
  "security-token",
  "position",
  "response-content-type",
  "response-content-language",
  "response-expires",
  "response-cache-control",
  "response-content-disposition",
  "response-content-encoding",
  "restore",
  "callback",
  "callback-var",
  "stat",
  "versions",
  "versioning",
  "versionId",
  "continuation-token",
  "x-oss-process",
  "x-oss-traffic-limit",
]);

/** Starts the endpoint on 127.0.0.1 with a free port. */
export function startOssEndpoint(opts: OssEndpointOptions = {}): Promise<OssEndpoint> {
  const accessKeyId = opts.accessKeyId ?? "LTAI-test-key";
  const accessKeySecret = opts.accessKeySecret ?? "test-secret";
  const bucketExists = opts.bucketExists ?? true;
  const maxKeysCap = opts.maxKeys ?? 1000;
  const requests: OssRequest[] = [];
  const objects = new Map<string, StoredObject>();
  const uploads = new Map<string, Upload>();
  let nextUploadId = 1;
  let virtualHost = "";

  const handle = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const body = new Uint8Array(await req.arrayBuffer());
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = value;
    let key: string;
    try {
      key = decodeURIComponent(url.pathname.slice(1));
    } catch {
      key = url.pathname.slice(1);
    }
    const record: OssRequest = {
      method: req.method,
      path: url.pathname,
      key,
      query,
      host: req.headers.get("host"),
      authorization: req.headers.get("authorization"),
      securityToken: req.headers.get("x-oss-security-token") ?? url.searchParams.get("security-token"),
      bodyBytes: body.length,
      status: 0,
    };
    requests.push(record);
    const response = route(req, url, key, body);
    record.status = response.status;
    return response;
  };

  const route = (req: Request, url: URL, key: string, body: Uint8Array): Response => {
    const q = url.searchParams;
    if (req.headers.get("host") !== virtualHost) {
      return ossError(400, "InvalidRequest", `requests must address bucket "${OSS_BUCKET}" as host ${virtualHost}`);
    }
    if (!bucketExists) return ossError(404, "NoSuchBucket", "The specified bucket does not exist.");
    const denied = authProblem(req, url);
    if (denied !== undefined) return denied;
    const method = req.method;
    if (key === "") {
      if (method === "GET") return list(q);
      if (method === "POST" && q.has("delete")) return batchDelete(body);
      return ossError(400, "NotImplemented", `${method} on the bucket is not emulated`);
    }
    if (method === "POST" && q.has("uploads")) {
      const uploadId = `upload-${nextUploadId++}`;
      uploads.set(uploadId, { key, parts: new Map() });
      return xml(
        `<InitiateMultipartUploadResult><Bucket>${OSS_BUCKET}</Bucket><Key>${esc(key)}</Key>` +
          `<UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
      );
    }
    const uploadId = q.get("uploadId");
    if (uploadId !== null) {
      const upload = uploads.get(uploadId);
      if (upload === undefined || upload.key !== key) {
        return ossError(404, "NoSuchUpload", "The specified upload does not exist.");
      }
      if (method === "PUT") {
        const partNumber = Number(q.get("partNumber"));
        if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
          return ossError(400, "InvalidArgument", "partNumber must be an integer from 1 to 10000");
        }
        const etag = md5Etag(body);
        upload.parts.set(partNumber, { data: body, etag });
        return new Response(null, { status: 200, headers: { etag, "x-oss-request-id": requestId() } });
      }
      if (method === "POST") return completeUpload(uploadId, upload, key, body);
      if (method === "DELETE") {
        uploads.delete(uploadId);
        return new Response(null, { status: 204, headers: { "x-oss-request-id": requestId() } });
      }
    }
    switch (method) {
      case "PUT": {
        const stored = { data: body, etag: md5Etag(body), lastModified: new Date() };
        objects.set(key, stored);
        return new Response(null, { status: 200, headers: { etag: stored.etag, "x-oss-request-id": requestId() } });
      }
      case "GET":
      case "HEAD":
        return getObject(req, key);
      case "DELETE":
        objects.delete(key);
        return new Response(null, { status: 204, headers: { "x-oss-request-id": requestId() } });
    }
    return ossError(400, "NotImplemented", `${method} ${url.pathname}${url.search} is not emulated`);
  };

  /** Checks the header signature or the presigned query; a Response when the request must be refused. */
  const authProblem = (req: Request, url: URL): Response | undefined => {
    const q = url.searchParams;
    const header = req.headers.get("authorization");
    let givenKeyId: string;
    let givenSignature: string;
    let dateLine: string;
    let token: string | null;
    if (header !== null) {
      const match = /^OSS ([^:]+):(.+)$/.exec(header);
      if (match === null) return ossError(400, "InvalidArgument", "Authorization header is invalid.");
      givenKeyId = match[1]!;
      givenSignature = match[2]!;
      dateLine = req.headers.get("date") ?? "";
      token = req.headers.get("x-oss-security-token");
    } else if (q.has("OSSAccessKeyId")) {
      givenKeyId = q.get("OSSAccessKeyId")!;
      givenSignature = q.get("Signature") ?? "";
      dateLine = q.get("Expires") ?? "";
      if (!(Number(dateLine) * 1000 >= Date.now())) return ossError(403, "AccessDenied", "Request has expired.");
      token = q.get("security-token");
    } else {
      return ossError(403, "AccessDenied", "You have no right to access this object because of bucket acl.");
    }
    if (givenKeyId !== accessKeyId) {
      return ossError(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.");
    }
    if (opts.securityToken !== undefined && token !== opts.securityToken) {
      return ossError(403, "InvalidSecurityToken", "The security token you provided is invalid.");
    }
    const expected = createHmac("sha1", accessKeySecret).update(stringToSign(req, url, dateLine)).digest("base64");
    if (expected !== givenSignature) {
      return ossError(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
      );
    }
    return undefined;
  };

  const list = (q: URLSearchParams): Response => {
    const prefix = q.get("prefix") ?? "";
    const delimiter = q.get("delimiter") ?? "";
    const maxKeys = Math.min(Number(q.get("max-keys") ?? "100") || 100, maxKeysCap);
    const after = q.get("continuation-token") ?? q.get("start-after") ?? "";
    // One sorted list of entries (keys and common prefixes), paged by name.
    const entries = new Map<string, "key" | "prefix">();
    for (const key of [...objects.keys()].filter((key) => key.startsWith(prefix))) {
      const rest = key.slice(prefix.length);
      const cut = delimiter === "" ? -1 : rest.indexOf(delimiter);
      if (cut < 0) entries.set(key, "key");
      else entries.set(prefix + rest.slice(0, cut + delimiter.length), "prefix");
    }
    const names = [...entries.keys()].sort().filter((name) => name > after);
    const page = names.slice(0, maxKeys);
    const truncated = names.length > page.length;
    const contents = page.filter((name) => entries.get(name) === "key").map((name) => {
      const object = objects.get(name)!;
      return `<Contents><Key>${esc(name)}</Key><LastModified>${object.lastModified.toISOString()}</LastModified>` +
        `<ETag>${esc(object.etag)}</ETag><Type>Normal</Type><Size>${object.data.length}</Size>` +
        `<StorageClass>Standard</StorageClass></Contents>`;
    });
    const prefixes = page.filter((name) => entries.get(name) === "prefix")
      .map((name) => `<CommonPrefixes><Prefix>${esc(name)}</Prefix></CommonPrefixes>`);
    return xml(
      `<ListBucketResult><Name>${OSS_BUCKET}</Name><Prefix>${esc(prefix)}</Prefix><MaxKeys>${maxKeys}</MaxKeys>` +
        `<Delimiter>${esc(delimiter)}</Delimiter><IsTruncated>${truncated}</IsTruncated>` +
        (truncated ? `<NextContinuationToken>${esc(page[page.length - 1]!)}</NextContinuationToken>` : "") +
        `<KeyCount>${page.length}</KeyCount>${contents.join("")}${prefixes.join("")}</ListBucketResult>`,
    );
  };

  const batchDelete = (body: Uint8Array): Response => {
    const text = new TextDecoder().decode(body);
    const keys = [...text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((match) => unesc(match[1]!));
    for (const key of keys) objects.delete(key);
    const deleted = keys.map((key) => `<Deleted><Key>${esc(key)}</Key></Deleted>`).join("");
    return xml(`<DeleteResult>${deleted}</DeleteResult>`);
  };

  const completeUpload = (uploadId: string, upload: Upload, key: string, body: Uint8Array): Response => {
    const text = new TextDecoder().decode(body);
    const listed = [...text.matchAll(/<Part>\s*<PartNumber>(\d+)<\/PartNumber>\s*<ETag>([^<]*)<\/ETag>\s*<\/Part>/g)]
      .map((match) => ({ partNumber: Number(match[1]), etag: unesc(match[2]!) }));
    if (listed.length === 0) return ossError(400, "MalformedXML", "The XML you provided was not well-formed.");
    const chunks: Uint8Array[] = [];
    let previous = 0;
    for (const { partNumber, etag } of listed) {
      const part = upload.parts.get(partNumber);
      if (part === undefined || part.etag !== etag) return ossError(400, "InvalidPart", `part ${partNumber}`);
      if (partNumber <= previous) return ossError(400, "InvalidPartOrder", "parts must be in ascending order");
      previous = partNumber;
      chunks.push(part.data);
    }
    const data = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    let offset = 0;
    for (const chunk of chunks) {
      data.set(chunk, offset);
      offset += chunk.length;
    }
    const etag = `"${md5Etag(data).slice(1, -1)}-${listed.length}"`;
    objects.set(key, { data, etag, lastModified: new Date() });
    uploads.delete(uploadId);
    return xml(
      `<CompleteMultipartUploadResult><Bucket>${OSS_BUCKET}</Bucket><Key>${esc(key)}</Key>` +
        `<ETag>${esc(etag)}</ETag></CompleteMultipartUploadResult>`,
    );
  };

  const getObject = (req: Request, key: string): Response => {
    const object = objects.get(key);
    if (object === undefined) {
      if (req.method === "HEAD") {
        return new Response(null, { status: 404, headers: { "x-oss-request-id": requestId() } });
      }
      return ossError(404, "NoSuchKey", "The specified key does not exist.");
    }
    const size = object.data.length;
    const headers: Record<string, string> = {
      "content-type": "application/octet-stream",
      etag: object.etag,
      "last-modified": object.lastModified.toUTCString(),
      "accept-ranges": "bytes",
      "x-oss-request-id": requestId(),
    };
    let status = 200;
    let bytes = object.data;
    const range = req.headers.get("range");
    if (range !== null) {
      const match = /^bytes=(\d*)-(\d*)$/.exec(range);
      let start = match === null || match[1] === "" ? NaN : Number(match[1]);
      let end = match === null || match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
      if (match !== null && match[1] === "" && match[2] !== "") {
        start = Math.max(0, size - Number(match[2]));
        end = size - 1;
      }
      if (!(start <= end && start < size)) {
        return ossError(416, "InvalidRange", "The requested range cannot be satisfied.", {
          "content-range": `*/${size}`,
        });
      }
      status = 206;
      bytes = object.data.subarray(start, end + 1);
      headers["content-range"] = `bytes ${start}-${end}/${size}`;
    }
    headers["content-length"] = String(bytes.length);
    return new Response(req.method === "HEAD" ? null : bytes.slice(), { status, headers });
  };

  let server: Deno.HttpServer<Deno.NetAddr>;
  return new Promise((resolve) => {
    server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: ({ port }) => {
        virtualHost = `${OSS_BUCKET}.0.0.1:${port}`;
        let stopped: Promise<void> | undefined;
        const stop = () => stopped ??= server.shutdown();
        resolve({
          endpoint: `http://0.0.1:${port}`,
          bucket: OSS_BUCKET,
          virtualHost,
          accessKeyId,
          accessKeySecret,
          securityToken: opts.securityToken,
          requests,
          object: (key) => objects.get(key)?.data,
          objectKeys: () => [...objects.keys()].sort(),
          stop,
          [Symbol.asyncDispose]: stop,
        });
      },
    }, handle);
  });
}

/**
 * VERB, Content-MD5, Content-Type, Date (or Expires), the sorted `x-oss-*` headers and the canonical resource
 * `/{bucket}/{key}?{sub-resources}`, one per line, as the OSS signature (V1) defines them.
 */
function stringToSign(req: Request, url: URL, dateLine: string): string {
  const ossHeaders = [...req.headers].filter(([name]) => name.startsWith("x-oss-"))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}:${value}\n`).join("");
  const subResources = [...url.searchParams].filter(([name]) => SUB_RESOURCES.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => (value === "" ? name : `${name}=${value}`)); // `?uploads`, not `?uploads=`
  const resource = `/${OSS_BUCKET}${decodeURIComponent(url.pathname)}` +
    (subResources.length > 0 ? `?${subResources.join("&")}` : "");
  return [
    req.method,
    req.headers.get("content-md5") ?? "",
    req.headers.get("content-type") ?? "",
    dateLine,
    `${ossHeaders}${resource}`,
  ].join("\n");
}

function ossError(status: number, code: string, message: string, extra: Record<string, string> = {}): Response {
  const id = requestId();
  return xml(
    `<Error><Code>${code}</Code><Message>${esc(message)}</Message><RequestId>${id}</RequestId>` +
      `<HostId>${OSS_BUCKET}.loopback</HostId></Error>`,
    status,
    { "x-oss-request-id": id, ...extra },
  );
}

function xml(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, {
    status,
    headers: { "content-type": "application/xml", "x-oss-request-id": requestId(), ...headers },
  });
}

function md5Etag(data: Uint8Array): string {
  return `"${createHash("md5").update(data).digest("hex").toUpperCase()}"`;
}

function requestId(): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, 24).toUpperCase();
}

function esc(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

function unesc(text: string): string {
  return text.replaceAll("&quot;", '"').replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
}
