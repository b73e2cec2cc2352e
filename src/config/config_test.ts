import assert from "node:assert/strict";
import { VIDEO_CODECS } from "../codec/mod.ts";
import { ConfigError } from "../shared/errors.ts";
import {
  type Config,
  DEFAULT_CONFIG_TOML,
  openDalOptions,
  parseConfig,
  type S3StorageConfig,
  type StorageConfig,
} from "./mod.ts";

const DEFAULTS: Config = {
  http: { listen: { hostname: "0.0.0.0", port: 7777 }, metricsListen: undefined },
  rtmp: { enabled: true, listen: { hostname: "0.0.0.0", port: 1935 } },
  webrtc: {
    publicIps: [],
    udpPort: 7777,
    udpPortRange: undefined,
    stunServers: [],
    loopback: true,
    iceLite: true,
    videoCodecs: ["h264", "vp9", "av1", "h265", "vp8"],
    simulcastLayer: undefined,
    startBitrateKbps: 2500,
  },
  recorder: {
    autoStreams: [],
    nodeAlias: undefined,
    segmentDurationS: 6,
    rules: [],
    defaults: {
      segmentDurationS: 6,
      recordPeriodS: 86_400,
      spliceWindowS: 180,
      spliceOnUnpublish: true,
      pathTemplate: "{stream}/{yyyy}/{MM}/{dd}",
      mp4Template: "{record_dir}/{name}_{start}_{end}.mp4",
      flvTemplate: "{record_dir}/{name}_{start}_{end}.flv",
      tsTemplate: "{record_dir}/{unix}_{seq}.ts",
      prefix: undefined,
      formats: ["dash", "hls"],
      retainDays: undefined,
    },
    stateDir: "./state",
    spoolDir: "./spool",
    spoolMaxBytes: 4096 * 1024 * 1024,
    storage: { type: "fs", root: "./records" },
    retention: { maxBytes: undefined, minFreeDisk: undefined, onFull: "refuse_new", dryRun: false, intervalS: 300 },
  },
  webhooks: { urls: [], secret: undefined, timeoutMs: 5000 },
  auth: { tokens: [] },
};

Deno.test("parseConfig turns auto_streams into rules after [[recorder.rules]], and checks rule templates", () => {
  const config = parseConfig(
    `[recorder]\nauto_streams = ["cam-*"]\n[[recorder.rules]]\nmatch = "cam-1"\nrecord = "never"\n`,
  );
  assert.deepEqual(config.recorder.rules.map((r) => [r.match, r.mode, r.source]), [
    ["cam-1", "never", "recorder.rules[0]"],
    ["cam-*", "always", "recorder.auto_streams[0]"],
  ]);
  assert.match(
    errorOf(`[[recorder.rules]]\nmatch = "a"\npath_template = "../{stream}"\n`).message,
    /recorder\.rules\[0\]\.path_template/,
  );
  assert.match(
    errorOf(`[[recorder.rules]]\nmatch = "a"\npath_template = "all/{yyyy}"\n`).message,
    /must contain \{stream\}/,
  );
});

Deno.test("parseConfig reads [webhooks] and refuses what cannot work", () => {
  const config = parseConfig(
    `[webhooks]\nurls = ["http://127.0.0.1:9/hook"]\nsecret = "0123456789abcdef"\ntimeout = 2\n`,
  );
  assert.deepEqual(config.webhooks, {
    urls: ["http://127.0.0.1:9/hook"],
    secret: "0123456789abcdef",
    timeoutMs: 2000,
  });
  assert.match(errorOf(`[webhooks]\nurls = ["ftp://x"]\n`).message, /webhooks\.urls\[0\]/);
  assert.match(errorOf(`[webhooks]\nsecret = "short"\n`).message, /webhooks\.secret.*at least 16/);
  assert.match(errorOf(`[webhooks]\ntimeout = 0\n`).message, /webhooks\.timeout/);
});

function storageOf(toml: string, env: Record<string, string | undefined> = {}): StorageConfig {
  return parseConfig(toml, env).recorder.storage;
}

function s3Of(toml: string, env: Record<string, string | undefined>): S3StorageConfig {
  const storage = storageOf(toml, env);
  assert.ok(storage.type === "s3", `expected s3 storage, got ${storage.type}`);
  return storage;
}

function errorOf(toml: string, env: Record<string, string | undefined> = {}): ConfigError {
  try {
    parseConfig(toml, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `${toml}: expected ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`${toml}: expected ConfigError, nothing was thrown`);
}

Deno.test("parseConfig fills every default for an empty file", () => {
  assert.deepEqual(parseConfig(""), DEFAULTS);
  assert.deepEqual(parseConfig("[recorder]\n[recorder.storage]\n[http]\n[webrtc]\n[auth]\n"), DEFAULTS);
});

Deno.test("DEFAULT_CONFIG_TOML parses to exactly the defaults of an empty file", () => {
  assert.deepEqual(parseConfig(DEFAULT_CONFIG_TOML), DEFAULTS);
});

Deno.test("the repository's config.toml is DEFAULT_CONFIG_TOML", () => {
  assert.equal(Deno.readTextFileSync(new URL("../../config.toml", import.meta.url)), DEFAULT_CONFIG_TOML);
});

Deno.test("parseConfig reads every section of a full file", () => {
  const config = parseConfig(`
[http]
listen = "[::1]:8080"
metrics_listen = "127.0.0.1:9464"

[rtmp]
enabled = false
listen = "127.0.0.1:19350"

[webrtc]
public_ips = ["203.0.113.7", "2001:db8::7"]
udp_port_range = [20000, 20100]
stun_servers = ["stun:stun.example.org:3478", "stun:[2001:db8::1]"]
loopback = false
ice_lite = false
video_codecs = ["h264"]
simulcast_layer = "h"

[recorder]
auto_streams = ["*", "room1", "web-*"]
node_alias = "live777-node-001"
segment_duration = 2.5

[recorder.storage]
type = "fs"
root = "/var/lib/live777/recordings"

[recorder.retention]
max_bytes = 500000000000
min_free_disk = "10%"
on_full = "stop_oldest_running"
dry_run = true
interval = 60

[auth]
tokens = ["s3cr3t-token", "another~token!", "live777"]
`);
  const defaults = { ...DEFAULTS.recorder.defaults, segmentDurationS: 2.5 };
  assert.deepEqual(
    config.recorder.rules.map((r) => [r.match, r.mode, r.source, r.settings]),
    ["*", "room1", "web-*"].map((match, i) => [match, "always", `recorder.auto_streams[${i}]`, defaults]),
  );
  assert.deepEqual({ ...config, recorder: { ...config.recorder, rules: [] } }, {
    http: { listen: { hostname: "::1", port: 8080 }, metricsListen: { hostname: "127.0.0.1", port: 9464 } },
    rtmp: { enabled: false, listen: { hostname: "127.0.0.1", port: 19350 } },
    webrtc: {
      publicIps: ["203.0.113.7", "2001:db8::7"],
      udpPort: undefined,
      udpPortRange: [20000, 20100],
      stunServers: ["stun:stun.example.org:3478", "stun:[2001:db8::1]:3478"],
      loopback: false,
      iceLite: false,
      videoCodecs: ["h264"],
      simulcastLayer: "h",
      startBitrateKbps: 2500,
    },
    recorder: {
      autoStreams: ["*", "room1", "web-*"],
      nodeAlias: "live777-node-001",
      segmentDurationS: 2.5,
      rules: [],
      defaults,
      stateDir: "./state",
      spoolDir: "./spool",
      spoolMaxBytes: 4096 * 1024 * 1024,
      storage: { type: "fs", root: "/var/lib/live777/recordings" },
      retention: {
        maxBytes: 500_000_000_000,
        minFreeDisk: { percent: 10 },
        onFull: "stop_oldest_running",
        dryRun: true,
        intervalS: 60,
      },
    },
    webhooks: DEFAULTS.webhooks,
    auth: { tokens: ["s3cr3t-token", "another~token!", "live777"] },
  });
});

Deno.test("webrtc.udp_port is the one port every session shares: 7777 by default, 0 for any free one", () => {
  const webrtc = (toml: string) => {
    const { udpPort, udpPortRange } = parseConfig(toml).webrtc;
    return { udpPort, udpPortRange };
  };
  assert.deepEqual(webrtc(""), { udpPort: 7777, udpPortRange: undefined });
  assert.deepEqual(webrtc("[webrtc]\nudp_port = 40000"), { udpPort: 40000, udpPortRange: undefined });
  assert.deepEqual(webrtc("[webrtc]\nudp_port = 0"), { udpPort: 0, udpPortRange: undefined });
  assert.deepEqual(webrtc("[webrtc]\nudp_port_range = [40000, 40010]"), {
    udpPort: undefined,
    udpPortRange: [40000, 40010],
  });
});

Deno.test("the documented storage examples parse and map to OpenDAL options", () => {
  const head = '[recorder]\nauto_streams = ["*"]\nnode_alias = "live777-node-001"\n\n[recorder.storage]\n';
  const cases: {
    name: string;
    toml: string;
    storage: StorageConfig;
    scheme: string;
    options: Record<string, string>;
  }[] = [
    {
      name: "fs",
      toml: 'type = "fs"\nroot = "./records"',
      storage: { type: "fs", root: "./records" },
      scheme: "fs",
      options: { root: "./records" },
    },
    {
      name: "s3 with an IAM role",
      toml: 'type = "s3"\nbucket = "my-live777-bucket"\nroot = "/recordings"\nregion = "us-east-1"',
      storage: {
        type: "s3",
        bucket: "my-live777-bucket",
        root: "/recordings",
        region: "us-east-1",
        disableConfigLoad: false,
        enableVirtualHostStyle: false,
        presignExpiresS: 0,
        requestTimeoutS: 60,
      },
      scheme: "s3",
      options: { bucket: "my-live777-bucket", root: "/recordings", region: "us-east-1" },
    },
    {
      name: "s3 with explicit keys",
      toml: 'type = "s3"\nbucket = "my-live777-bucket"\nroot = "/recordings"\nregion = "us-east-1"\n' +
        'access_key_id = "AKIA..."\nsecret_access_key = "..."',
      storage: {
        type: "s3",
        bucket: "my-live777-bucket",
        root: "/recordings",
        region: "us-east-1",
        accessKeyId: "AKIA...",
        secretAccessKey: "...",
        disableConfigLoad: false,
        enableVirtualHostStyle: false,
        presignExpiresS: 0,
        requestTimeoutS: 60,
      },
      scheme: "s3",
      options: {
        bucket: "my-live777-bucket",
        root: "/recordings",
        region: "us-east-1",
        access_key_id: "AKIA...",
        secret_access_key: "...",
        disable_config_load: "true",
      },
    },
    {
      name: "s3 with a session token",
      toml: 'type = "s3"\nbucket = "my-live777-bucket"\nroot = "/recordings"\nregion = "us-east-1"\n' +
        'access_key_id = "ASIA..."\nsecret_access_key = "..."\nsession_token = "..."',
      storage: {
        type: "s3",
        bucket: "my-live777-bucket",
        root: "/recordings",
        region: "us-east-1",
        accessKeyId: "ASIA...",
        secretAccessKey: "...",
        sessionToken: "...",
        disableConfigLoad: false,
        enableVirtualHostStyle: false,
        presignExpiresS: 0,
        requestTimeoutS: 60,
      },
      scheme: "s3",
      options: {
        bucket: "my-live777-bucket",
        root: "/recordings",
        region: "us-east-1",
        access_key_id: "ASIA...",
        secret_access_key: "...",
        session_token: "...",
        disable_config_load: "true",
      },
    },
    {
      name: "MinIO",
      toml: 'type = "s3"\nbucket = "live777-recordings"\nroot = "/recordings"\nregion = "us-east-1"\n' +
        'endpoint = "http://localhost:9000"\naccess_key_id = "minioadmin"\nsecret_access_key = "minioadmin"\n' +
        "enable_virtual_host_style = false",
      storage: {
        type: "s3",
        bucket: "live777-recordings",
        root: "/recordings",
        region: "us-east-1",
        endpoint: "http://localhost:9000",
        accessKeyId: "minioadmin",
        secretAccessKey: "minioadmin",
        disableConfigLoad: false,
        enableVirtualHostStyle: false,
        presignExpiresS: 0,
        requestTimeoutS: 60,
      },
      scheme: "s3",
      options: {
        bucket: "live777-recordings",
        root: "/recordings",
        region: "us-east-1",
        endpoint: "http://localhost:9000",
        access_key_id: "minioadmin",
        secret_access_key: "minioadmin",
        disable_config_load: "true",
        disable_ec2_metadata: "true",
      },
    },
    {
      name: "OSS",
      toml: 'type = "oss"\nbucket = "my-oss-bucket"\nroot = "/recordings"\nregion = "oss-cn-hangzhou"\n' +
        'endpoint = "https://oss-cn-hangzhou.aliyuncs.com"\naccess_key_id = "your-access-key"\n' +
        'access_key_secret = "your-access-secret"',
      storage: {
        type: "oss",
        presignExpiresS: 0,
        requestTimeoutS: 60,
        bucket: "my-oss-bucket",
        root: "/recordings",
        region: "oss-cn-hangzhou",
        endpoint: "https://oss-cn-hangzhou.aliyuncs.com",
        accessKeyId: "your-access-key",
        accessKeySecret: "your-access-secret",
      },
      scheme: "oss",
      options: {
        bucket: "my-oss-bucket",
        root: "/recordings",
        endpoint: "https://oss-cn-hangzhou.aliyuncs.com",
        access_key_id: "your-access-key",
        access_key_secret: "your-access-secret",
      },
    },
    {
      name: "OSS with STS",
      toml: 'type = "oss"\nbucket = "my-oss-bucket"\nroot = "/recordings"\nregion = "oss-cn-hangzhou"\n' +
        'endpoint = "https://oss-cn-hangzhou.aliyuncs.com"\naccess_key_id = "STS..."\n' +
        'access_key_secret = "..."\nsecurity_token = "..."',
      storage: {
        type: "oss",
        presignExpiresS: 0,
        requestTimeoutS: 60,
        bucket: "my-oss-bucket",
        root: "/recordings",
        region: "oss-cn-hangzhou",
        endpoint: "https://oss-cn-hangzhou.aliyuncs.com",
        accessKeyId: "STS...",
        accessKeySecret: "...",
        securityToken: "...",
      },
      scheme: "oss",
      options: {
        bucket: "my-oss-bucket",
        root: "/recordings",
        endpoint: "https://oss-cn-hangzhou.aliyuncs.com",
        access_key_id: "STS...",
        access_key_secret: "...",
        security_token: "...",
      },
    },
  ];
  for (const { name, toml, storage, scheme, options } of cases) {
    const config = parseConfig(head + toml);
    assert.deepEqual(config.recorder.autoStreams, ["*"], name);
    assert.equal(config.recorder.nodeAlias, "live777-node-001", name);
    assert.deepEqual(config.recorder.storage, storage, name);
    assert.deepEqual(openDalOptions(config.recorder.storage), { scheme, options }, name);
  }
});

Deno.test("storage roots default per type", () => {
  assert.equal(storageOf('[recorder.storage]\ntype = "s3"\nbucket = "bkt"').root, "/");
  assert.equal(
    storageOf('[recorder.storage]\ntype = "oss"\nbucket = "bkt"\nregion = "r"\nendpoint = "https://e"').root,
    "/",
  );
  assert.equal(storageOf('[recorder.storage]\ntype = "fs"').root, "./records");
});

Deno.test("openDalOptions passes the s3 flags only when they are set", () => {
  const storage = storageOf(
    '[recorder.storage]\ntype = "s3"\nbucket = "bkt"\ndisable_config_load = true\nenable_virtual_host_style = true',
  );
  assert.deepEqual(openDalOptions(storage), {
    scheme: "s3",
    options: { bucket: "bkt", root: "/", disable_config_load: "true", enable_virtual_host_style: "true" },
  });
});

Deno.test("s3 credentials and region fall back to the AWS environment variables", () => {
  const env = {
    AWS_ACCESS_KEY_ID: "AKIAENV",
    AWS_SECRET_ACCESS_KEY: "envsecret",
    AWS_SESSION_TOKEN: "envtoken",
    AWS_DEFAULT_REGION: "eu-west-1",
  };
  const s3 = '[recorder.storage]\ntype = "s3"\nbucket = "bkt"\n';
  assert.deepEqual(storageOf(s3, env), {
    type: "s3",
    bucket: "bkt",
    root: "/",
    region: "eu-west-1",
    accessKeyId: "AKIAENV",
    secretAccessKey: "envsecret",
    sessionToken: "envtoken",
    disableConfigLoad: false,
    enableVirtualHostStyle: false,
    presignExpiresS: 0,
    requestTimeoutS: 60,
  });
  // AWS_REGION wins over AWS_DEFAULT_REGION; the file wins over both.
  assert.equal(s3Of(s3, { ...env, AWS_REGION: "eu-central-1" }).region, "eu-central-1");
  assert.equal(s3Of(s3 + 'region = "us-east-1"', { ...env, AWS_REGION: "eu-central-1" }).region, "us-east-1");
  // Keys in the file: nothing of the credentials comes from the environment, not even the session token.
  const fileKeys = s3Of(s3 + 'access_key_id = "AKIAFILE"\nsecret_access_key = "filesecret"', env);
  assert.deepEqual([fileKeys.accessKeyId, fileKeys.secretAccessKey, fileKeys.sessionToken], [
    "AKIAFILE",
    "filesecret",
    undefined,
  ]);
  // disable_config_load: no fallback at all.
  assert.deepEqual(storageOf(s3 + "disable_config_load = true", env), {
    type: "s3",
    bucket: "bkt",
    root: "/",
    disableConfigLoad: true,
    enableVirtualHostStyle: false,
    presignExpiresS: 0,
    requestTimeoutS: 60,
  });
  // Empty variables count as unset.
  assert.deepEqual(storageOf(s3, { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", AWS_REGION: "" }), {
    type: "s3",
    bucket: "bkt",
    root: "/",
    disableConfigLoad: false,
    enableVirtualHostStyle: false,
    presignExpiresS: 0,
    requestTimeoutS: 60,
  });
});

Deno.test("oss credentials fall back to the ALIBABA_CLOUD environment variables", () => {
  const oss = '[recorder.storage]\ntype = "oss"\nbucket = "bkt"\nregion = "oss-cn-hangzhou"\n' +
    'endpoint = "https://oss-cn-hangzhou.aliyuncs.com"\n';
  const env = {
    ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAIenv",
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: "envsecret",
    ALIBABA_CLOUD_SECURITY_TOKEN: "envtoken",
    AWS_ACCESS_KEY_ID: "ignored",
  };
  assert.deepEqual(storageOf(oss, env), {
    type: "oss",
    presignExpiresS: 0,
    requestTimeoutS: 60,
    bucket: "bkt",
    root: "/",
    region: "oss-cn-hangzhou",
    endpoint: "https://oss-cn-hangzhou.aliyuncs.com",
    accessKeyId: "LTAIenv",
    accessKeySecret: "envsecret",
    securityToken: "envtoken",
  });
  const fromFile = storageOf(oss + 'access_key_id = "LTAIfile"\naccess_key_secret = "filesecret"', env);
  assert.equal(openDalOptions(fromFile).options["security_token"], undefined);
});

Deno.test("TOML syntax errors are ConfigErrors on (file) with line, column and the offending lines", () => {
  const error = errorOf("[http]\nlisten = \n");
  assert.equal(error.key, "(file)");
  assert.deepEqual(error.message.split("\n"), [
    'invalid config: "(file)" is not valid TOML: invalid value at line 2, column 10',
    "",
    "1:  [http]",
    "2:  listen = ",
    "             ^",
    "",
  ]);
  assert.equal(
    errorOf("a = 1\na = 2").message.split("\n")[0],
    'invalid config: "(file)" is not valid TOML: trying to redefine an already defined table or value ' +
      "at line 2, column 1",
  );
});

Deno.test("[recorder] splice_on_unpublish is the default of every rule that does not set it", () => {
  const config = parseConfig(`
[recorder]
auto_streams = ["*"]
splice_on_unpublish = false

[[recorder.rules]]
match = "a"

[[recorder.rules]]
match = "b"
splice_on_unpublish = true
`);
  assert.deepEqual(config.recorder.rules.map((rule) => [rule.match, rule.settings.spliceOnUnpublish]), [
    ["a", false],
    ["b", true],
    ["*", false],
  ]);
});

Deno.test("video_codecs names codecs of the table, each once", () => {
  const error = (toml: string) => {
    try {
      parseConfig(toml);
    } catch (e) {
      return e instanceof ConfigError ? [e.key, e.message] : e;
    }
    return undefined;
  };
  assert.deepEqual(error('[webrtc]\nvideo_codecs = ["h264", "mpeg2"]'), [
    "webrtc.video_codecs[1]",
    `invalid config: "webrtc.video_codecs[1]" must be one of ${[...VIDEO_CODECS.keys()].join(", ")}, got "mpeg2"`,
  ]);
  assert.deepEqual(error('[webrtc]\nvideo_codecs = ["h264", "h264"]'), [
    "webrtc.video_codecs[1]",
    'invalid config: "webrtc.video_codecs[1]" names "h264" twice',
  ]);
});

Deno.test("[recorder.retention] refuses what it cannot mean, naming the key", () => {
  const cases: [string, RegExp][] = [
    ["max_bytes = -1", /"recorder\.retention\.max_bytes" must be a whole number of bytes above 0, got -1/],
    ["max_bytes = 1.5", /max_bytes" must be a whole number/],
    ['min_free_disk = "10"', /min_free_disk" must be a whole number of bytes, or a percentage .*got "10"/],
    ['min_free_disk = "100%"', /min_free_disk" must be/],
    ["min_free_disk = 0", /min_free_disk" must be/],
    ['on_full = "panic"', /on_full" must be "refuse_new" or "stop_oldest_running", got "panic"/],
    ["interval = 0", /interval" must be between 1 and 86400 seconds/],
    ["dry_run = 1", /dry_run" must be true or false/],
  ];
  for (const [toml, message] of cases) {
    let error: unknown;
    try {
      parseConfig(`[recorder.retention]\n${toml}\n`);
    } catch (caught) {
      error = caught;
    }
    assert.ok(error instanceof Error && message.test(error.message), `${toml}: ${String(error)}`);
  }
  for (const days of ["0", "-1", "36501"]) {
    assert.throws(
      () => parseConfig(`[[recorder.rules]]\nmatch = "*"\nretain_days = ${days}\n`),
      /"recorder\.rules\[0\]\.retain_days" must be more than 0 and at most 36500 days/,
    );
  }
  assert.deepEqual(parseConfig("[recorder.retention]\nmin_free_disk = 1048576\n").recorder.retention.minFreeDisk, {
    bytes: 1_048_576,
  });
});

Deno.test("unknown keys are refused at every level, listing the allowed keys", () => {
  const cases: { toml: string; key: string; message: string }[] = [
    {
      toml: "[recorder]\nsegmnt_duration = 6",
      key: "recorder.segmnt_duration",
      message:
        "is an unknown key (allowed: auto_streams, node_alias, retention, rules, segment_duration, splice_on_unpublish, " +
        "spool_dir, spool_max_mb, state_dir, storage)",
    },
    {
      toml: "[recordr]",
      key: "recordr",
      message: "is an unknown key (allowed: auth, http, recorder, rtmp, webhooks, webrtc)",
    },
    {
      toml: "listen = 1",
      key: "listen",
      message: "is an unknown key (allowed: auth, http, recorder, rtmp, webhooks, webrtc)",
    },
    { toml: '[http]\nport = "1"', key: "http.port", message: "is an unknown key (allowed: listen, metrics_listen)" },
    {
      toml: "[webrtc]\ninterfaces = []",
      key: "webrtc.interfaces",
      message:
        "is an unknown key (allowed: ice_lite, loopback, public_ips, simulcast_layer, start_bitrate_kbps, stun_servers, udp_port, udp_port_range, video_codecs)",
    },
    { toml: "[auth]\ntoken = []", key: "auth.token", message: "is an unknown key (allowed: tokens)" },
    { toml: "[http.listen]", key: "http.listen", message: "must be a string, got a table" },
    {
      toml: '[recorder.storage]\nbucket = "b"',
      key: "recorder.storage.bucket",
      message: 'is not valid with type = "fs" (only with type = "s3" or "oss") (allowed: root, type)',
    },
    {
      toml: '[recorder.storage]\ntype = "oss"\nsecret_access_key = "x"',
      key: "recorder.storage.secret_access_key",
      message: 'is not valid with type = "oss" (only with type = "s3") ' +
        "(allowed: access_key_id, access_key_secret, bucket, endpoint, presign_expires, region, request_timeout, root, security_token, type)",
    },
    {
      toml: '[recorder.storage]\ntype = "s3"\naccess_key_secret = "x"',
      key: "recorder.storage.access_key_secret",
      message: 'is not valid with type = "s3" (only with type = "oss") (allowed: access_key_id, bucket, ' +
        "disable_config_load, enable_virtual_host_style, endpoint, presign_expires, region, request_timeout, root, secret_access_key, session_token, type)",
    },
    {
      toml: "[recorder.storage]\nroot_dir = 'x'",
      key: "recorder.storage.root_dir",
      message: "is an unknown key (allowed: root, type)",
    },
    {
      toml: "__proto__ = 1",
      key: "__proto__",
      message: "is an unknown key (allowed: auth, http, recorder, rtmp, webhooks, webrtc)",
    },
  ];
  for (const { toml, key, message } of cases) {
    const error = errorOf(toml);
    assert.deepEqual([error.key, error.message], [key, `invalid config: "${key}" ${message}`], toml);
  }
});

Deno.test("bad values are refused with a message naming the key, the value and what is allowed", () => {
  const cases: { toml: string; message: string; env?: Record<string, string> }[] = [
    // recorder
    {
      toml: "[recorder]\nsegment_duration = 0",
      message: '"recorder.segment_duration" must be between 1 and 30 seconds, got 0',
    },
    {
      toml: "[recorder]\nsegment_duration = 30.5",
      message: '"recorder.segment_duration" must be between 1 and 30 seconds, got 30.5',
    },
    {
      toml: "[recorder]\nsegment_duration = nan",
      message: '"recorder.segment_duration" must be between 1 and 30 seconds, got nan',
    },
    {
      toml: "[recorder]\nsegment_duration = inf",
      message: '"recorder.segment_duration" must be between 1 and 30 seconds, got Infinity',
    },
    { toml: '[recorder]\nsegment_duration = "6"', message: '"recorder.segment_duration" must be a number, got "6"' },
    { toml: '[recorder]\nauto_streams = "*"', message: '"recorder.auto_streams" must be an array, got "*"' },
    { toml: "[recorder]\nauto_streams = [1]", message: '"recorder.auto_streams[0]" must be a string, got 1' },
    {
      toml: '[recorder]\nauto_streams = ["ok", "a/b/c"]',
      message:
        '"recorder.auto_streams[1]" is invalid: stream pattern "a/b/c" has more than one "/" (a stream is "name" or "app/name")',
    },
    {
      toml: '[recorder]\nauto_streams = ["../*"]',
      message: '"recorder.auto_streams[0]" is invalid: stream pattern "../*": ".." must not start with "."',
    },
    { toml: '[recorder]\nnode_alias = ""', message: '"recorder.node_alias" must be 1–64 printable characters, got ""' },
    {
      toml: '[recorder]\nnode_alias = "a\\u0007"',
      message: '"recorder.node_alias" must be 1–64 printable characters, got "a\\u0007"',
    },
    {
      toml: `[recorder]\nnode_alias = "${"n".repeat(65)}"`,
      message: `"recorder.node_alias" must be 1–64 printable characters, got "${"n".repeat(65)}"`,
    },
    { toml: "[recorder]\nstorage = 1", message: '"recorder.storage" must be a table, got 1' },
    // http
    {
      toml: '[http]\nlisten = "::1:7777"',
      message: '"http.listen" must be "host:port" (an IPv4 address, a host name or an IPv6 address in brackets, ' +
        'and a port from 0 to 65535), got "::1:7777"',
    },
    {
      toml: '[http]\nlisten = "0.0.0.0:70000"',
      message: '"http.listen" must be "host:port" (an IPv4 address, a host name or an IPv6 address in brackets, ' +
        'and a port from 0 to 65535), got "0.0.0.0:70000"',
    },
    { toml: "[http]\nlisten = 7777", message: '"http.listen" must be a string, got 7777' },
    // webrtc
    {
      toml: '[webrtc]\npublic_ips = ["1.2.3.4", "example.com"]',
      message: '"webrtc.public_ips[1]" must be an IPv4 or IPv6 address (no brackets, no zone), got "example.com"',
    },
    {
      toml: '[webrtc]\npublic_ips = ["[::1]"]',
      message: '"webrtc.public_ips[0]" must be an IPv4 or IPv6 address (no brackets, no zone), got "[::1]"',
    },
    {
      toml: "[webrtc]\nudp_port_range = [5000, 4000]",
      message: '"webrtc.udp_port_range" must be [min, max] with 1024 <= min <= max <= 65535, got [5000, 4000]',
    },
    {
      toml: "[webrtc]\nudp_port_range = [80, 4000]",
      message: '"webrtc.udp_port_range" must be [min, max] with 1024 <= min <= max <= 65535, got [80, 4000]',
    },
    {
      toml: "[webrtc]\nudp_port_range = [4000]",
      message: '"webrtc.udp_port_range" must be [min, max] with 1024 <= min <= max <= 65535, got [4000]',
    },
    {
      toml: "[webrtc]\nudp_port_range = [4000, 4000.5]",
      message: '"webrtc.udp_port_range" must be [min, max] with 1024 <= min <= max <= 65535, got [4000, 4000.5]',
    },
    {
      toml: "[webrtc]\nudp_port = 80",
      message: '"webrtc.udp_port" must be 0 (any free port) or an integer from 1024 to 65535, got 80',
    },
    {
      toml: "[webrtc]\nudp_port = 4000\nudp_port_range = [4000, 4001]",
      message: '"webrtc.udp_port" cannot be combined with udp_port_range; set one of them',
    },
    {
      toml: '[webrtc]\nstun_servers = ["stun.l.google.com:19302"]',
      message: '"webrtc.stun_servers[0]" must be a STUN URI "stun:host:port" (an IPv4 address, a host name or an ' +
        'IPv6 address in brackets), got "stun.l.google.com:19302"',
    },
    { toml: '[webrtc]\nloopback = "yes"', message: '"webrtc.loopback" must be true or false, got "yes"' },
    { toml: "[webrtc]\nice_lite = 1", message: '"webrtc.ice_lite" must be true or false, got 1' },
    // auth: token values are secrets and never shown
    {
      toml: '[auth]\ntokens = [""]',
      message: '"auth.tokens[0]" must be 1–256 printable ASCII characters without spaces, got a string of 0 characters',
    },
    {
      toml: '[auth]\ntokens = ["long enough but spaced"]',
      message:
        '"auth.tokens[0]" must be 1–256 printable ASCII characters without spaces, got a string of 22 characters',
    },
    {
      toml: `[auth]\ntokens = ["${"t".repeat(257)}"]`,
      message:
        '"auth.tokens[0]" must be 1–256 printable ASCII characters without spaces, got a string of 257 characters',
    },
    { toml: "[auth]\ntokens = [12345678]", message: '"auth.tokens[0]" must be a string, got 12345678' },
    // storage
    {
      toml: '[recorder.storage]\ntype = "gcs"',
      message: '"recorder.storage.type" must be one of "fs", "s3", "oss", got "gcs"',
    },
    {
      toml: '[recorder.storage]\nroot = ""',
      message: '"recorder.storage.root" must be a non-empty directory path without control characters, got ""',
    },
    {
      toml: '[recorder.storage]\ntype = "s3"',
      message: '"recorder.storage.bucket" is required with type = "s3" (the bucket name)',
    },
    {
      toml: '[recorder.storage]\ntype = "s3"\nbucket = "My_Bucket"',
      message: '"recorder.storage.bucket" must be 3–63 characters of a-z 0-9 . - starting and ending with a letter ' +
        'or digit, got "My_Bucket"',
    },
    {
      toml: '[recorder.storage]\ntype = "s3"\nbucket = "bkt"\nroot = "/a/../b"',
      message: '"recorder.storage.root" must be "/" or a path inside the bucket such as "/recordings": ' +
        'path "a/../b" must not contain "." or ".." segments',
    },
    {
      toml: '[recorder.storage]\ntype = "s3"\nbucket = "bkt"\nendpoint = "localhost:9000"',
      message: '"recorder.storage.endpoint" must be an http:// or https:// URL, got "localhost:9000"',
    },
    {
      toml: '[recorder.storage]\ntype = "s3"\nbucket = "bkt"\nendpoint = "minio:9000"',
      message: '"recorder.storage.endpoint" must be an http:// or https:// URL, got "minio:9000"',
    },
    {
      toml: '[recorder.storage]\ntype = "s3"\nbucket = "bkt"\nendpoint = "https://u:p@s3.example.com"',
      message: '"recorder.storage.endpoint" must not contain credentials; use the key options, ' +
        'got "https://u:p@s3.example.com"',
    },
    {
      toml: '[recorder.storage]\ntype = "s3"\nbucket = "bkt"\nendpoint = "no url"',
      message: '"recorder.storage.endpoint" must be an absolute http:// or https:// URL, got "no url"',
    },
    {
      toml: '[recorder.storage]\ntype = "s3"\nbucket = "bkt"\nregion = "us east"',
      message:
        '"recorder.storage.region" must be 1–64 characters of A-Z a-z 0-9 _ - such as "us-east-1", got "us east"',
    },
    {
      toml: '[recorder.storage]\ntype = "s3"\nbucket = "bkt"\ndisable_config_load = "true"',
      message: '"recorder.storage.disable_config_load" must be true or false, got "true"',
    },
    {
      toml: '[recorder.storage]\ntype = "s3"\nbucket = "bkt"\naccess_key_id = "AKIA"',
      message: '"recorder.storage.secret_access_key" must be set when access_key_id is',
    },
    {
      toml: '[recorder.storage]\ntype = "s3"\nbucket = "bkt"\nsession_token = "tok"',
      message: '"recorder.storage.access_key_id" must be set when session_token is',
    },
    {
      toml: '[recorder.storage]\ntype = "s3"\nbucket = "bkt"',
      env: { AWS_SECRET_ACCESS_KEY: "secret" },
      message: '"recorder.storage.access_key_id" must be set when secret_access_key is ' +
        "(environment variable AWS_ACCESS_KEY_ID is not set)",
    },
    {
      // The secret itself never appears in the message.
      toml: '[recorder.storage]\ntype = "s3"\nbucket = "bkt"\naccess_key_id = "AKIA"\nsecret_access_key = "abc\\n"',
      message: '"recorder.storage.secret_access_key" must not contain whitespace or control characters, ' +
        "got a string of 4 characters",
    },
    {
      toml: '[recorder.storage]\ntype = "s3"\nbucket = "bkt"',
      env: { AWS_ACCESS_KEY_ID: "AKIA ", AWS_SECRET_ACCESS_KEY: "secret" },
      message: '"recorder.storage.access_key_id" must not contain whitespace or control characters ' +
        "(from environment variable AWS_ACCESS_KEY_ID), got a string of 5 characters",
    },
    {
      toml: '[recorder.storage]\ntype = "s3"\nbucket = "bkt"\nsecret_access_key = 12',
      message: '"recorder.storage.secret_access_key" must be a string, got 12',
    },
    {
      toml: '[recorder.storage]\ntype = "s3"\nbucket = "bkt"',
      env: { AWS_REGION: "us east" },
      message: '"recorder.storage.region" must be 1–64 characters of A-Z a-z 0-9 _ - such as "us-east-1" ' +
        '(from AWS_REGION or AWS_DEFAULT_REGION), got "us east"',
    },
    {
      toml: '[recorder.storage]\ntype = "oss"\nbucket = "bkt"\nendpoint = "https://oss-cn-hangzhou.aliyuncs.com"',
      message: '"recorder.storage.region" is required with type = "oss" (e.g. "oss-cn-hangzhou")',
    },
    {
      toml: '[recorder.storage]\ntype = "oss"\nbucket = "bkt"\nregion = "oss-cn-hangzhou"',
      message:
        '"recorder.storage.endpoint" is required with type = "oss" (e.g. "https://oss-cn-hangzhou.aliyuncs.com")',
    },
    {
      toml: '[recorder.storage]\ntype = "oss"\nregion = "oss-cn-hangzhou"\nendpoint = "https://e"',
      message: '"recorder.storage.bucket" is required with type = "oss" (the bucket name)',
    },
    {
      toml: '[recorder.storage]\ntype = "oss"\nbucket = "bkt"\nregion = "r"\nendpoint = "https://e"',
      env: { ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAI" },
      message: '"recorder.storage.access_key_secret" must be set when access_key_id is ' +
        "(environment variable ALIBABA_CLOUD_ACCESS_KEY_SECRET is not set)",
    },
  ];
  for (const { toml, message, env } of cases) {
    assert.equal(errorOf(toml, env).message, `invalid config: ${message}`, toml);
  }
});

Deno.test("the spool settings are read and checked", () => {
  const recorder = parseConfig('[recorder]\nspool_dir = "/var/spool/liverec"\nspool_max_mb = 100\n').recorder;
  assert.equal(recorder.spoolDir, "/var/spool/liverec");
  assert.equal(recorder.spoolMaxBytes, 100 * 1024 * 1024);
  assert.throws(
    () => parseConfig("[recorder]\nspool_max_mb = 1\n"),
    { message: 'invalid config: "recorder.spool_max_mb" must be a whole number of MiB, at least 16, got 1' },
  );
  assert.throws(() => parseConfig('[recorder]\nspool_dir = ""\n'), {
    message: /"recorder\.spool_dir" must be a directory/,
  });
});

Deno.test("s3 with an endpoint and no region signs for us-east-1; presign_expires is checked", () => {
  const toml =
    '[recorder.storage]\ntype = "s3"\nbucket = "bkt"\nendpoint = "http://127.0.0.1:9000"\npresign_expires = 600\n';
  const storage = parseConfig(toml, {}).recorder.storage;
  assert.ok(storage.type === "s3");
  assert.equal(storage.presignExpiresS, 600);
  assert.equal(openDalOptions(storage).options.region, "us-east-1");
  assert.throws(
    () => parseConfig(toml.replace("600", "-1"), {}),
    {
      message:
        /"recorder\.storage\.presign_expires" must be a whole number of seconds from 0 \(off\) to 604800, got -1/,
    },
  );
});

Deno.test("request_timeout of an object store: 60 s unless given, 1 s to an hour, refused on fs", () => {
  const s3 = '[recorder.storage]\ntype = "s3"\nbucket = "bkt"\nendpoint = "http://127.0.0.1:9000"\n';
  const oss = '[recorder.storage]\ntype = "oss"\nbucket = "bkt"\nregion = "oss-cn-hangzhou"\n' +
    'endpoint = "https://oss-cn-hangzhou.aliyuncs.com"\n';
  const timeoutOf = (toml: string) => {
    const storage = parseConfig(toml, {}).recorder.storage;
    return storage.type === "fs" ? undefined : storage.requestTimeoutS;
  };
  assert.equal(timeoutOf(s3), 60);
  assert.equal(timeoutOf(`${s3}request_timeout = 2.5\n`), 2.5);
  assert.equal(timeoutOf(`${oss}request_timeout = 300\n`), 300);
  for (const bad of ["0", "3601", '"60"']) {
    assert.throws(() => parseConfig(`${s3}request_timeout = ${bad}\n`, {}), {
      message: /"recorder\.storage\.request_timeout" must be/,
    });
  }
  assert.throws(() => parseConfig('[recorder.storage]\ntype = "fs"\nrequest_timeout = 5\n', {}), {
    message: /request_timeout.*only with type = "s3" or "oss"/,
  });
});
