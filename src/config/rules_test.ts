import assert from "node:assert/strict";
import { parse } from "smol-toml";
import { ConfigError } from "../shared/errors.ts";
import {
  autoStreamRules,
  defaultRuleSettings,
  parseRules,
  type RecordRule,
  resolveRule,
  type RuleSettings,
  specificity,
} from "./rules.ts";
import { Section, type TomlTable } from "./section.ts";

function rulesOf(toml: string, segmentDurationS = 6): RecordRule[] {
  const root = parse(toml) as TomlTable;
  return parseRules(new Section("recorder", (root.recorder ?? {}) as TomlTable), defaultRuleSettings(segmentDurationS));
}

function ruleOf(body: string): RecordRule {
  const rules = rulesOf(`[[recorder.rules]]\n${body}`);
  assert.equal(rules.length, 1);
  return rules[0]!;
}

function errorOf(toml: string): ConfigError {
  try {
    rulesOf(toml);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `${toml}: expected ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`${toml}: expected ConfigError, nothing was thrown`);
}

/** Asserts that the rule body `body` is refused for `key` with a message containing each of `fragments`. */
function assertRejected(body: string, key: string, ...fragments: string[]): void {
  const error = errorOf(`[[recorder.rules]]\n${body}`);
  assert.equal(error.key, key, `${body}: ${error.message}`);
  assert.ok(error.message.startsWith(`invalid config: "${key}" `), error.message);
  for (const fragment of fragments) assert.ok(error.message.includes(fragment), `${body}: ${error.message}`);
}

const DEFAULTS: RuleSettings = {
  segmentDurationS: 6,
  recordPeriodS: 86400,
  spliceWindowS: 180,
  spliceOnUnpublish: true,
  pathTemplate: "{stream}/{yyyy}/{MM}/{dd}",
  mp4Template: "{record_dir}/{name}_{start}_{end}.mp4",
  flvTemplate: "{record_dir}/{name}_{start}_{end}.flv",
  tsTemplate: "{record_dir}/{unix}_{seq}.ts",
  prefix: undefined,
  formats: ["dash", "hls"],
  retainDays: undefined,
};

function rule(match: string, mode: RecordRule["mode"] = "always", source = `test:${match}`): RecordRule {
  return { match, mode, settings: defaultRuleSettings(6), onDemand: undefined, source };
}

Deno.test("parseRules gives no rules when recorder.rules is absent", () => {
  assert.deepEqual(rulesOf(""), []);
  assert.deepEqual(rulesOf("[recorder]\nsegment_duration = 2"), []);
  assert.deepEqual(rulesOf("[recorder]\nrules = []"), []);
});

Deno.test("defaultRuleSettings uses the [recorder] segment duration and the documented defaults", () => {
  assert.deepEqual(defaultRuleSettings(6), DEFAULTS);
  assert.deepEqual(defaultRuleSettings(2.5), { ...DEFAULTS, segmentDurationS: 2.5 });
  // Each call returns its own formats array, so a caller's edit cannot leak into another rule.
  const first = defaultRuleSettings(6);
  first.formats.push("mp4");
  assert.deepEqual(defaultRuleSettings(6).formats, ["dash", "hls"]);
});

Deno.test("a rule with only match records always with default settings", () => {
  assert.deepEqual(rulesOf('[[recorder.rules]]\nmatch = "room1"', 4), [
    {
      match: "room1",
      mode: "always",
      settings: { ...DEFAULTS, segmentDurationS: 4 },
      onDemand: undefined,
      source: "recorder.rules[0]",
    },
  ]);
});

Deno.test("parseRules reads every key of a full rule", () => {
  const rules = rulesOf(`
[[recorder.rules]]
match = "web-*"
record = "on_demand"
segment_duration = 2.5
record_period = 3600
splice_window = 0
splice_on_unpublish = false
path_template = "{stream}/{yyyy}-{MM}-{dd}"
mp4_template = "{record_dir}/full.mp4"
flv_template = "{record_dir}/full.flv"
ts_template = "{record_dir}/ts/{seq}.ts"
prefix = "tenant-a/live"
formats = ["mp4", "dash"]
retain_days = 7.5
on_demand_url = "https://hooks.example.org/record?token=abc"
on_demand_timeout = 0.25
on_demand_fallback = "record"

[[recorder.rules]]
match = "*"
record = "never"
`);
  assert.deepEqual(rules, [
    {
      match: "web-*",
      mode: "on_demand",
      settings: {
        segmentDurationS: 2.5,
        recordPeriodS: 3600,
        spliceWindowS: 0,
        spliceOnUnpublish: false,
        pathTemplate: "{stream}/{yyyy}-{MM}-{dd}",
        mp4Template: "{record_dir}/full.mp4",
        flvTemplate: "{record_dir}/full.flv",
        tsTemplate: "{record_dir}/ts/{seq}.ts",
        prefix: "tenant-a/live",
        formats: ["mp4", "dash"],
        retainDays: 7.5,
      },
      onDemand: { url: "https://hooks.example.org/record?token=abc", timeoutMs: 250, fallback: "record" },
      source: "recorder.rules[0]",
    },
    { match: "*", mode: "never", settings: DEFAULTS, onDemand: undefined, source: "recorder.rules[1]" },
  ]);
});

Deno.test("splice_on_unpublish is true unless set, and must be a boolean", () => {
  assert.equal(ruleOf('match = "a"').settings.spliceOnUnpublish, true);
  assert.equal(ruleOf('match = "a"\nsplice_on_unpublish = false').settings.spliceOnUnpublish, false);
  assertRejected(
    'match = "a"\nsplice_on_unpublish = 1',
    "recorder.rules[0].splice_on_unpublish",
    "must be true or false, got 1",
  );
});

Deno.test("on_demand rules default to a 3 s timeout and fallback skip", () => {
  const parsed = ruleOf('match = "a"\nrecord = "on_demand"\non_demand_url = "http://127.0.0.1:8080/hook"');
  assert.deepEqual(parsed.onDemand, { url: "http://127.0.0.1:8080/hook", timeoutMs: 3000, fallback: "skip" });
});

Deno.test("numeric settings accept their whole range", () => {
  const cases: [string, keyof RuleSettings, number][] = [
    ["segment_duration = 1", "segmentDurationS", 1],
    ["segment_duration = 30", "segmentDurationS", 30],
    ["record_period = 5", "recordPeriodS", 5],
    ["record_period = 604800", "recordPeriodS", 604800],
    ["splice_window = 0", "spliceWindowS", 0],
    ["splice_window = 21600", "spliceWindowS", 21600],
    ["splice_window = 0.5", "spliceWindowS", 0.5],
  ];
  for (const [line, field, value] of cases) {
    assert.equal(ruleOf(`match = "a"\n${line}`).settings[field], value, line);
  }
});

Deno.test("numeric settings outside their range or of the wrong type are refused, naming the key", () => {
  const cases: [string, string, string][] = [
    ["segment_duration = 0", "segment_duration", "between 1 and 30 seconds, got 0"],
    ["segment_duration = 31", "segment_duration", "got 31"],
    ["segment_duration = nan", "segment_duration", "got nan"],
    ['segment_duration = "6"', "segment_duration", 'must be a number, got "6"'],
    ["record_period = 4", "record_period", "between 5 and 604800 seconds, got 4"],
    ["record_period = 604801", "record_period", "got 604801"],
    ["record_period = inf", "record_period", "got Infinity"],
    ["splice_window = -1", "splice_window", "between 0 and 21600 seconds, got -1"],
    ["splice_window = 21601", "splice_window", "got 21601"],
    ["splice_window = true", "splice_window", "must be a number, got true"],
  ];
  for (const [line, key, fragment] of cases) {
    assertRejected(`match = "a"\n${line}`, `recorder.rules[0].${key}`, fragment);
  }
});

Deno.test("match is required and must be a valid stream pattern", () => {
  assertRejected('record = "never"', "recorder.rules[0].match", "is required");
  assertRejected("match = 7", "recorder.rules[0].match", "must be a string, got 7");
  assertRejected('match = ""', "recorder.rules[0].match", "must not be empty");
  assertRejected('match = "a/b/c"', "recorder.rules[0].match", 'has more than one "/"');
  assertRejected('match = "room 1"', "recorder.rules[0].match", '" " (U+0020)');
  assertRejected('match = ".hidden"', "recorder.rules[0].match", 'must not start with "."');
  for (const good of ["room1", "web-*", "*", "*-cam-*", "a.b_c~d", "live/*", "live/room1"]) {
    assert.equal(ruleOf(`match = "${good}"`).match, good);
  }
});

Deno.test("record must be always, never or on_demand", () => {
  assert.equal(ruleOf('match = "a"\nrecord = "always"').mode, "always");
  assert.equal(ruleOf('match = "a"\nrecord = "never"').mode, "never");
  assertRejected('match = "a"\nrecord = "Always"', "recorder.rules[0].record", '"always", "never", "on_demand"');
  assertRejected('match = "a"\nrecord = "ondemand"', "recorder.rules[0].record", 'got "ondemand"');
  assertRejected('match = "a"\nrecord = true', "recorder.rules[0].record", "must be a string, got true");
});

Deno.test("path_template is checked as a folder template and mp4_template as a file template", () => {
  const parsed = ruleOf('match = "a"\npath_template = "{stream}/x"\nmp4_template = "{stream}.mp4"');
  assert.equal(parsed.settings.pathTemplate, "{stream}/x");
  assert.equal(parsed.settings.mp4Template, "{stream}.mp4");
  const path = "recorder.rules[0].path_template";
  const mp4 = "recorder.rules[0].mp4_template";
  assertRejected('match = "a"\npath_template = "{bad}"', path, 'is invalid: folder template "{bad}"', '"{bad}"');
  assertRejected('match = "a"\nmp4_template = "{bad}.mp4"', mp4, 'is invalid: file template "{bad}.mp4"', '"{bad}"');
  assertRejected('match = "a"\npath_template = "{stream}/{end}"', path, "must not use {end}");
  assertRejected('match = "a"\npath_template = "all/{yyyy}"', path, "must contain {stream}");
  assertRejected('match = "a"\nmp4_template = "{stream}"', mp4, 'must end in ".mp4"');
  assertRejected('match = "a"\npath_template = 1', path, "must be a string, got 1");
});

Deno.test("prefix must be a relative storage path", () => {
  assert.equal(ruleOf('match = "a"\nprefix = "live"').settings.prefix, "live");
  assert.equal(ruleOf('match = "a"\nprefix = "tenants/a-1"').settings.prefix, "tenants/a-1");
  assertRejected('match = "a"\nprefix = "/abs"', "recorder.rules[0].prefix", "must be relative");
  assertRejected('match = "a"\nprefix = "a/../b"', "recorder.rules[0].prefix", '".."');
  assertRejected('match = "a"\nprefix = "a/"', "recorder.rules[0].prefix", "empty segments");
  assertRejected('match = "a"\nprefix = ""', "recorder.rules[0].prefix", "must not be empty");
  assertRejected('match = "a"\nprefix = ["a"]', "recorder.rules[0].prefix", "must be a string");
});

Deno.test("formats must include dash, without unknown values or duplicates", () => {
  assert.deepEqual(ruleOf('match = "a"\nformats = ["dash"]').settings.formats, ["dash"]);
  assert.deepEqual(ruleOf('match = "a"\nformats = ["dash", "hls", "mp4"]').settings.formats, ["dash", "hls", "mp4"]);
  assertRejected('match = "a"\nformats = ["hls"]', "recorder.rules[0].formats", 'must include "dash"', '["hls"]');
  assertRejected('match = "a"\nformats = []', "recorder.rules[0].formats", 'must include "dash"');
  const all = ["dash", "hls", "ts", "flv", "mp4"];
  assert.deepEqual(ruleOf(`match = "a"\nformats = ${JSON.stringify(all)}`).settings.formats, all);
  assertRejected(
    'match = "a"\nformats = ["dash", "m3u8"]',
    "recorder.rules[0].formats[1]",
    '"dash", "hls", "ts", "flv"',
  );
  assertRejected('match = "a"\nformats = ["dash", "DASH"]', "recorder.rules[0].formats[1]", 'got "DASH"');
  assertRejected('match = "a"\nformats = ["dash", "hls", "dash"]', "recorder.rules[0].formats[2]", 'repeats "dash"');
  assertRejected('match = "a"\nformats = "dash"', "recorder.rules[0].formats", "must be an array");
  assertRejected('match = "a"\nformats = ["dash", 1]', "recorder.rules[0].formats[1]", "must be a string, got 1");
});

Deno.test("ts_template and flv_template are checked as segment and FLV templates", () => {
  assertRejected('match = "a"\nts_template = "{stream}/{seq}.ts"', "recorder.rules[0].ts_template", "{record_dir}/");
  assertRejected('match = "a"\nts_template = "{record_dir}/{unix}.ts"', "recorder.rules[0].ts_template", "{seq}");
  assertRejected('match = "a"\nts_template = "{record_dir}/{seq}.m4s"', "recorder.rules[0].ts_template", '".ts"');
  assertRejected('match = "a"\nflv_template = "{record_dir}/{seq}.flv"', "recorder.rules[0].flv_template", "{seq}");
  assertRejected('match = "a"\nflv_template = "{record_dir}/x.mp4"', "recorder.rules[0].flv_template", '".flv"');
});

Deno.test("on_demand_url is required with on_demand and must be http or https", () => {
  const head = 'match = "a"\nrecord = "on_demand"\n';
  assert.equal(ruleOf(`${head}on_demand_url = "https://[::1]:9/x"`).onDemand?.url, "https://[::1]:9/x");
  assertRejected(head, "recorder.rules[0].on_demand_url", 'is required with record = "on_demand"');
  assertRejected(`${head}on_demand_url = "ftp://example.org/x"`, "recorder.rules[0].on_demand_url", "http://");
  assertRejected(`${head}on_demand_url = "example.org/x"`, "recorder.rules[0].on_demand_url", '"example.org/x"');
  assertRejected(`${head}on_demand_url = "http://"`, "recorder.rules[0].on_demand_url", "https:// URL");
  assertRejected(`${head}on_demand_url = 80`, "recorder.rules[0].on_demand_url", "must be a string");
});

Deno.test("on_demand_timeout is 0.1 to 30 seconds", () => {
  const head = 'match = "a"\nrecord = "on_demand"\non_demand_url = "http://h/"\n';
  assert.equal(ruleOf(`${head}on_demand_timeout = 0.1`).onDemand?.timeoutMs, 100);
  assert.equal(ruleOf(`${head}on_demand_timeout = 30`).onDemand?.timeoutMs, 30000);
  assert.equal(ruleOf(`${head}on_demand_timeout = 1.5`).onDemand?.timeoutMs, 1500);
  for (const bad of ["0", "0.05", "30.5", "-1", "nan"]) {
    assertRejected(`${head}on_demand_timeout = ${bad}`, "recorder.rules[0].on_demand_timeout", "between 0.1 and 30");
  }
  assertRejected(`${head}on_demand_timeout = "3"`, "recorder.rules[0].on_demand_timeout", "must be a number");
});

Deno.test("on_demand_fallback is record or skip", () => {
  const head = 'match = "a"\nrecord = "on_demand"\non_demand_url = "http://h/"\n';
  assert.equal(ruleOf(`${head}on_demand_fallback = "skip"`).onDemand?.fallback, "skip");
  assert.equal(ruleOf(`${head}on_demand_fallback = "record"`).onDemand?.fallback, "record");
  assertRejected(`${head}on_demand_fallback = "yes"`, "recorder.rules[0].on_demand_fallback", '"record", "skip"');
});

Deno.test("on_demand_* keys are refused unless record is on_demand", () => {
  for (const mode of ["", 'record = "always"\n', 'record = "never"\n']) {
    assertRejected(
      `match = "a"\n${mode}on_demand_url = "http://h/"`,
      "recorder.rules[0].on_demand_url",
      "only allowed",
    );
    assertRejected(`match = "a"\n${mode}on_demand_timeout = 3`, "recorder.rules[0].on_demand_timeout", "only allowed");
    assertRejected(`match = "a"\n${mode}on_demand_fallback = "skip"`, "recorder.rules[0].on_demand_fallback");
  }
});

Deno.test("unknown keys in a rule are refused, listing the allowed ones", () => {
  assertRejected('match = "a"\nsegment_durations = 2', "recorder.rules[0].segment_durations", "unknown key", "match");
  assertRejected('match = "a"\n[recorder.rules.extra]', "recorder.rules[0].extra", "unknown key");
});

Deno.test("recorder.rules must be an array of tables", () => {
  const notArray = errorOf('[recorder.rules]\nmatch = "a"');
  assert.equal(notArray.key, "recorder.rules");
  assert.ok(notArray.message.includes("must be an array, got a table"), notArray.message);
  const notTable = errorOf('[recorder]\nrules = [{ match = "a" }, "b"]');
  assert.equal(notTable.key, "recorder.rules[1]");
  assert.ok(notTable.message.includes('must be a table ([[recorder.rules]]), got "b"'), notTable.message);
});

Deno.test("errors name the index of the offending rule", () => {
  const error = errorOf('[[recorder.rules]]\nmatch = "a"\n[[recorder.rules]]\nmatch = "b"\nrecord_period = 1');
  assert.equal(error.key, "recorder.rules[1].record_period");
});

Deno.test("two rules with the same match are refused, naming the second", () => {
  const error = errorOf(
    '[[recorder.rules]]\nmatch = "web-*"\n[[recorder.rules]]\nmatch = "x"\n[[recorder.rules]]\nmatch = "web-*"',
  );
  assert.equal(error.key, "recorder.rules[2].match");
  assert.ok(error.message.includes('repeats "web-*" from recorder.rules[0]'), error.message);
  // Patterns that differ only in case are different patterns (stream names are case-sensitive).
  assert.equal(rulesOf('[[recorder.rules]]\nmatch = "A"\n[[recorder.rules]]\nmatch = "a"').length, 2);
});

Deno.test("autoStreamRules makes one always rule per pattern with the given settings", () => {
  const settings = { ...DEFAULTS, segmentDurationS: 2 };
  const rules = autoStreamRules(["*", "room1"], settings);
  assert.deepEqual(rules, [
    { match: "*", mode: "always", settings, onDemand: undefined, source: "recorder.auto_streams[0]" },
    { match: "room1", mode: "always", settings, onDemand: undefined, source: "recorder.auto_streams[1]" },
  ]);
  assert.notEqual(rules[0]?.settings.formats, settings.formats, "each rule owns its formats array");
  assert.deepEqual(autoStreamRules([], settings), []);
});

Deno.test("specificity ranks exact, wildcard and star-only patterns", () => {
  assert.equal(specificity("room1"), 0);
  assert.equal(specificity("web-*"), 1);
  assert.equal(specificity("*-cam"), 1);
  assert.equal(specificity("a*b*c"), 1);
  assert.equal(specificity("*"), 2);
  assert.equal(specificity("**"), 2);
});

Deno.test("resolveRule prefers exact over wildcard over star, whatever the list order", () => {
  const star = rule("*");
  const wildcard = rule("room*");
  const exact = rule("room1");
  for (const order of [[star, wildcard, exact], [exact, wildcard, star], [wildcard, star, exact]]) {
    assert.equal(resolveRule(order, "room1"), exact);
    assert.equal(resolveRule(order, "room2"), wildcard);
    assert.equal(resolveRule(order, "lobby"), star);
  }
});

Deno.test("resolveRule prefers the wildcard with more literal characters", () => {
  const short = rule("web-*");
  const long = rule("web-cam-*");
  const suffix = rule("*-hd");
  assert.equal(resolveRule([short, long], "web-cam-1"), long);
  assert.equal(resolveRule([long, short], "web-cam-1"), long);
  assert.equal(resolveRule([short, long], "web-mic-1"), short);
  // "web-*" (4 literals) beats "*-hd" (3 literals) for a name both match, in either order.
  assert.equal(resolveRule([suffix, short], "web-x-hd"), short);
  assert.equal(resolveRule([short, suffix], "web-x-hd"), short);
});

Deno.test("resolveRule breaks ties by list order", () => {
  const prefix = rule("ab*");
  const suffix = rule("*yz");
  assert.equal(resolveRule([prefix, suffix], "abxyz"), prefix);
  assert.equal(resolveRule([suffix, prefix], "abxyz"), suffix);
  const star = rule("*", "always", "first");
  const stars = rule("**", "never", "second");
  assert.equal(resolveRule([star, stars], "x"), star);
});

Deno.test("resolveRule returns undefined when nothing matches", () => {
  assert.equal(resolveRule([], "room1"), undefined);
  assert.equal(resolveRule([rule("room2"), rule("web-*")], "room1"), undefined);
});

Deno.test("an explicit rule beats an auto_streams pattern of the same specificity", () => {
  const explicit = rulesOf('[[recorder.rules]]\nmatch = "*"\nrecord = "never"\nsegment_duration = 2');
  const rules = [...explicit, ...autoStreamRules(["*", "room1"], defaultRuleSettings(6))];
  assert.equal(resolveRule(rules, "lobby")?.source, "recorder.rules[0]");
  assert.equal(resolveRule(rules, "lobby")?.mode, "never");
  // A more specific auto_streams pattern still beats a broader explicit rule.
  assert.equal(resolveRule(rules, "room1")?.source, "recorder.auto_streams[1]");
});

Deno.test("a never rule shadows a broader always rule", () => {
  const rules = rulesOf(`
[[recorder.rules]]
match = "*"
record_period = 3600

[[recorder.rules]]
match = "test-*"
record = "never"

[[recorder.rules]]
match = "test-keep"
`);
  assert.equal(resolveRule(rules, "room1")?.mode, "always");
  assert.equal(resolveRule(rules, "room1")?.settings.recordPeriodS, 3600);
  assert.equal(resolveRule(rules, "test-1")?.mode, "never");
  assert.equal(resolveRule(rules, "test-1")?.source, "recorder.rules[1]");
  assert.equal(resolveRule(rules, "test-keep")?.mode, "always");
});
