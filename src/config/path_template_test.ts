import assert from "node:assert/strict";
import { dailyRecordDir } from "../recorder/layout.ts";
import {
  DEFAULT_FILE_TEMPLATE,
  DEFAULT_FLV_TEMPLATE,
  DEFAULT_FOLDER_TEMPLATE,
  DEFAULT_SEGMENT_TEMPLATE,
  escapedTime,
  renderTemplate,
  type TemplateKind,
  templateProblem,
  type TemplateValues,
} from "./path_template.ts";

const KNOWN =
  "{stream} {app} {name} {yyyy} {MM} {dd} {HH} {mm} {ss} {start} {end} {record_id} {record_dir} {unix} {seq}";
const START_MS = Date.UTC(2026, 10, 21, 10, 5, 3, 250);
const END_MS = Date.UTC(2026, 10, 21, 11, 6, 4, 999);
const VALUES: TemplateValues = { stream: "cam", recordId: "20261121T100503Z-0a1b2c3d", startMs: START_MS };

Deno.test("the default templates pass templateProblem for their kind", () => {
  assert.equal(templateProblem(DEFAULT_FOLDER_TEMPLATE, "folder"), undefined);
  assert.equal(templateProblem(DEFAULT_FILE_TEMPLATE, "file"), undefined);
  assert.match(templateProblem(DEFAULT_FILE_TEMPLATE, "folder") ?? "", /must not use \{record_dir\}/);
  assert.equal(templateProblem(DEFAULT_FLV_TEMPLATE, "flv"), undefined);
  assert.equal(templateProblem(DEFAULT_SEGMENT_TEMPLATE, "segment"), undefined);
  assert.match(templateProblem(DEFAULT_SEGMENT_TEMPLATE, "file") ?? "", /must not use \{unix\}: it names a segment/);
  assert.match(templateProblem("{record_dir}/{end}_{seq}.ts", "segment") ?? "", /must not use \{end\}/);
});

Deno.test("the default folder template renders what dailyRecordDir renders", () => {
  const times = [
    0,
    Date.UTC(2026, 10, 21, 0, 0, 0) - 1, // the last ms of a UTC day
    Date.UTC(2026, 10, 21, 0, 0, 0), // UTC midnight
    Date.UTC(2026, 10, 21, 23, 59, 59, 999),
    Date.UTC(1999, 11, 31, 23, 59, 59, 999), // year end
    Date.UTC(2000, 0, 1, 0, 0, 0),
    Date.UTC(2024, 1, 29, 12, 0, 0), // leap day
    Date.UTC(2026, 11, 31, 23, 59, 59, 999),
    Date.UTC(2027, 0, 1, 0, 0, 0),
    Date.UTC(10000, 0, 1, 0, 0, 0), // five-digit year
  ];
  for (const startMs of times) {
    for (const stream of ["cam", "web-cam_2.main~b"]) {
      assert.equal(
        renderTemplate(DEFAULT_FOLDER_TEMPLATE, { ...VALUES, stream, startMs }),
        dailyRecordDir(stream, startMs),
        new Date(startMs).toISOString(),
      );
    }
  }
  assert.equal(renderTemplate(DEFAULT_FOLDER_TEMPLATE, { ...VALUES, startMs: Date.UTC(2027, 0, 1) }), "cam/2027/01/01");
});

Deno.test("the default file template names the MP4 inside the recording's folder by start and end", () => {
  const recordDir = renderTemplate(DEFAULT_FOLDER_TEMPLATE, VALUES);
  assert.equal(
    renderTemplate(DEFAULT_FILE_TEMPLATE, { ...VALUES, endMs: END_MS, recordDir }),
    "cam/2026/11/21/cam_2026-11-21T10-05-03Z_2026-11-21T11-06-04Z.mp4",
  );
});

Deno.test("{app} and {name} split a stream's app from its name; without an app, {app}'s folder level is left out", () => {
  const template = "record/{app}/{name}/{start}";
  const live = { ...VALUES, stream: "live/cam" };
  assert.equal(renderTemplate(template, live), "record/live/cam/2026-11-21T10-05-03Z");
  assert.equal(renderTemplate(template, VALUES), "record/cam/2026-11-21T10-05-03Z");
  assert.equal(renderTemplate("{app}-{name}", live), "live-cam");
  assert.equal(renderTemplate(DEFAULT_FOLDER_TEMPLATE, live), "live/cam/2026/11/21");
  const recordDir = renderTemplate(DEFAULT_FOLDER_TEMPLATE, live);
  assert.equal(
    renderTemplate(DEFAULT_FILE_TEMPLATE, { ...live, endMs: END_MS, recordDir }),
    "live/cam/2026/11/21/cam_2026-11-21T10-05-03Z_2026-11-21T11-06-04Z.mp4",
  );
});

Deno.test("a folder template needs {stream} or both {app} and {name}; {app} must not be all of a file name", () => {
  assert.match(templateProblem("record/{name}/{start}", "folder") ?? "", /must contain \{stream\} \(or both/);
  assert.match(templateProblem("record/{app}/{start}", "folder") ?? "", /must contain \{stream\} \(or both/);
  assert.match(templateProblem("{record_dir}/{app}.mp4", "file") ?? "", /hidden segments/);
});

Deno.test("the default segment template names a TS segment by its start in Unix seconds and its number", () => {
  const recordDir = renderTemplate(DEFAULT_FOLDER_TEMPLATE, VALUES);
  const segment = { number: 7, startMs: Date.UTC(2026, 10, 21, 10, 5, 9, 999) };
  assert.equal(
    renderTemplate(DEFAULT_SEGMENT_TEMPLATE, { ...VALUES, recordDir, segment }),
    `${recordDir}/1795255509_7.ts`,
  );
  assert.throws(
    () => renderTemplate(DEFAULT_SEGMENT_TEMPLATE, { ...VALUES, recordDir }),
    /\{unix\} needs a segment value/,
  );
});

Deno.test("renderTemplate zero-pads every date and time part", () => {
  const startMs = Date.UTC(987, 2, 4, 5, 6, 7, 890);
  const values = { ...VALUES, startMs };
  assert.equal(renderTemplate("{yyyy}/{MM}/{dd}/{HH}/{mm}/{ss}", values), "0987/03/04/05/06/07");
  assert.equal(renderTemplate("{stream}/{start}", values), "cam/0987-03-04T05-06-07Z");
  assert.equal(renderTemplate("{stream}{yyyy}{MM}{dd}", { ...VALUES, startMs: Date.UTC(2026, 0, 9) }), "cam20260109");
});

Deno.test("renderTemplate fills every placeholder, uppercase MM as month and lowercase mm as minute", () => {
  const values = { ...VALUES, endMs: END_MS, recordDir: "rec/cam" };
  assert.equal(
    renderTemplate("{record_dir}/{stream}-{record_id}-{yyyy}{MM}{dd}T{HH}{mm}{ss}-{start}-{end}.mp4", values),
    "rec/cam/cam-20261121T100503Z-0a1b2c3d-20261121T100503-2026-11-21T10-05-03Z-2026-11-21T11-06-04Z.mp4",
  );
  assert.equal(renderTemplate("{MM}-{mm}", { ...VALUES, startMs: Date.UTC(2026, 0, 1, 0, 45) }), "01-45");
  assert.equal(renderTemplate("fixed/name", VALUES), "fixed/name");
});

Deno.test("the date and time parts are UTC whatever the process time zone", async () => {
  // Near midnight UTC, so that the local day differs from the UTC day in both zones below.
  const startMs = Date.UTC(2026, 11, 31, 23, 30, 15);
  const code = `
    import { escapedTime, renderTemplate } from ${JSON.stringify(import.meta.resolve("./path_template.ts"))};
    const startMs = ${startMs};
    const local = new Date(startMs);
    console.log(JSON.stringify({
      localDay: local.getDate(),
      localHour: local.getHours(),
      folder: renderTemplate("{stream}/{yyyy}/{MM}/{dd}/{HH}{mm}{ss}", { stream: "cam", recordId: "r", startMs }),
      start: escapedTime(startMs),
    }));
  `;
  for (const timeZone of ["Pacific/Kiritimati", "Etc/GMT+12"]) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--config", new URL("../../deno.json", import.meta.url).pathname, code],
      env: { TZ: timeZone },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    const result = JSON.parse(new TextDecoder().decode(output.stdout));
    // The zone took effect, or this test could not fail.
    assert.notEqual(`${result.localDay}/${result.localHour}`, "31/23", timeZone);
    assert.equal(result.folder, "cam/2026/12/31/233015", timeZone);
    assert.equal(result.start, "2026-12-31T23-30-15Z", timeZone);
  }
});

Deno.test("escapedTime is the UTC time to the second with ':' as '-'", () => {
  assert.equal(escapedTime(Date.UTC(2026, 10, 21, 10, 5, 3)), "2026-11-21T10-05-03Z");
  assert.equal(escapedTime(Date.UTC(2026, 10, 21, 10, 5, 3, 999)), "2026-11-21T10-05-03Z");
  assert.equal(escapedTime(0), "1970-01-01T00-00-00Z");
  assert.equal(escapedTime(-1), "1969-12-31T23-59-59Z");
  assert.throws(() => escapedTime(Number.NaN), { name: "RangeError", message: /got NaN/ });
  assert.throws(() => escapedTime(Number.POSITIVE_INFINITY), { name: "RangeError", message: /got Infinity/ });
  assert.throws(() => escapedTime(8.64e15 + 1), { name: "RangeError", message: /outside the range of Date/ });
});

Deno.test("templateProblem accepts templates made of known placeholders and safe literal text", () => {
  const cases: { template: string; kind: TemplateKind }[] = [
    { template: "{stream}{yyyy}", kind: "folder" },
    { template: "{stream}", kind: "folder" },
    { template: "live/{stream}/{record_id}", kind: "folder" },
    { template: "{stream}/{yyyy}-{MM}-{dd}/{HH}{mm}{ss}", kind: "folder" },
    { template: "{stream}/{start}", kind: "folder" },
    { template: "a..b/{stream}", kind: "folder" },
    { template: "{record_dir}/{record_id}.mp4", kind: "file" },
    { template: "mp4/{stream}/{start}_{end}.mp4", kind: "file" },
    { template: "{record_dir}.mp4", kind: "file" },
    { template: "record/{app}/{name}/{start}", kind: "folder" },
    { template: "record/{app}/{name}/{start}_{end}.mp4", kind: "file" },
  ];
  for (const { template, kind } of cases) assert.equal(templateProblem(template, kind), undefined, template);
});

Deno.test("templateProblem quotes the template and says what is wrong", () => {
  const cases: { template: string; kind: TemplateKind; problem: string }[] = [
    { template: "", kind: "folder", problem: "folder template must not be empty" },
    { template: "", kind: "file", problem: "file template must not be empty" },
    {
      template: "../{stream}",
      kind: "folder",
      problem: 'folder template "../{stream}" does not render a valid relative path: ' +
        'path "../stream" must not contain "." or ".." segments',
    },
    {
      template: "/abs/{stream}",
      kind: "folder",
      problem: 'folder template "/abs/{stream}" does not render a valid relative path: ' +
        'path "/abs/stream" must be relative (no leading "/")',
    },
    {
      template: "{stream}/../x",
      kind: "folder",
      problem: 'folder template "{stream}/../x" does not render a valid relative path: ' +
        'path "stream/../x" must not contain "." or ".." segments',
    },
    {
      template: "a\\b",
      kind: "folder",
      problem: 'folder template "a\\\\b" does not render a valid relative path: ' +
        'path "a\\\\b" must not contain backslashes',
    },
    {
      template: "{stream}//x",
      kind: "folder",
      problem: 'folder template "{stream}//x" does not render a valid relative path: ' +
        'path "stream//x" must not contain empty segments ("//" or a trailing "/")',
    },
    {
      template: "{stream}/",
      kind: "folder",
      problem: 'folder template "{stream}/" does not render a valid relative path: ' +
        'path "stream/" must not contain empty segments ("//" or a trailing "/")',
    },
    {
      template: ".{stream}",
      kind: "folder",
      problem: 'folder template ".{stream}" does not render a valid relative path: ' +
        'path ".stream" must not contain hidden segments (starting with ".")',
    },
    {
      template: "{record_dir}/.mp4",
      kind: "file",
      problem: 'file template "{record_dir}/.mp4" does not render a valid relative path: ' +
        'path "stream/2026/11/21/.mp4" must not contain hidden segments (starting with ".")',
    },
    {
      template: "{stream}/%2e%2e",
      kind: "folder",
      problem: 'folder template "{stream}/%2e%2e" does not render a valid relative path: ' +
        'path "stream/%2e%2e" must not contain "%" (no percent-encoding)',
    },
    {
      template: "{stream}\n",
      kind: "folder",
      problem: 'folder template "{stream}\\n" does not render a valid relative path: ' +
        'path "stream\\n" must not contain control characters, found "\\n" (U+000A)',
    },
    {
      template: "{stream} {yyyy}",
      kind: "folder",
      problem: 'folder template "{stream} {yyyy}" does not render a valid relative path: ' +
        'path "stream 2026" contains " " (U+0020); allowed characters are A-Z a-z 0-9 . _ ~ - /',
    },
    {
      template: "{unknown}",
      kind: "folder",
      problem: `folder template "{unknown}" uses unknown placeholder "{unknown}"; known placeholders are ${KNOWN}`,
    },
    {
      template: "{stream}/{YYYY}",
      kind: "folder",
      problem: `folder template "{stream}/{YYYY}" uses unknown placeholder "{YYYY}"; known placeholders are ${KNOWN}`,
    },
    {
      template: "{stream}/{}",
      kind: "folder",
      problem: `folder template "{stream}/{}" uses unknown placeholder "{}"; known placeholders are ${KNOWN}`,
    },
    {
      template: "{stream",
      kind: "folder",
      problem: 'folder template "{stream" has a "{" without a matching "}" at index 0',
    },
    {
      template: "{stream}/{yyyy",
      kind: "folder",
      problem: 'folder template "{stream}/{yyyy" has a "{" without a matching "}" at index 9',
    },
    {
      template: "{{stream}}",
      kind: "folder",
      problem: 'folder template "{{stream}}" has a "{" without a matching "}" at index 0',
    },
    {
      template: "stream}",
      kind: "folder",
      problem: 'folder template "stream}" has a "}" without a matching "{" at index 6',
    },
    {
      template: "{stream}}.mp4",
      kind: "file",
      problem: 'file template "{stream}}.mp4" has a "}" without a matching "{" at index 8',
    },
    {
      template: "{stream}/{end}",
      kind: "folder",
      problem: 'folder template "{stream}/{end}" must not use {end}: ' +
        "a recording's folder is needed before the recording ends",
    },
    {
      template: "{record_dir}/x",
      kind: "folder",
      problem: 'folder template "{record_dir}/x" must not use {record_dir}: ' +
        "it stands for the rendered folder template itself",
    },
    {
      template: "all/{yyyy}",
      kind: "folder",
      problem:
        'folder template "all/{yyyy}" must contain {stream} (or both {app} and {name}): a folder holds one stream',
    },
    {
      template: "{record_dir}/{stream}.mkv",
      kind: "file",
      problem: 'file template "{record_dir}/{stream}.mkv" must end in ".mp4"',
    },
    {
      template: "{record_dir}/{stream}",
      kind: "file",
      problem: 'file template "{record_dir}/{stream}" must end in ".mp4"',
    },
    {
      template: "{record_dir}/{stream}.MP4",
      kind: "file",
      problem: 'file template "{record_dir}/{stream}.MP4" must end in ".mp4"',
    },
  ];
  for (const { template, kind, problem } of cases) {
    assert.equal(templateProblem(template, kind), problem, `${kind} ${JSON.stringify(template)}`);
  }
});

Deno.test("templateProblem refuses a template whose literal text alone is too long", () => {
  const template = `${"a".repeat(120)}/{stream}/${"b".repeat(129)}`;
  assert.match(templateProblem(template, "folder") ?? "", /has a segment longer than 128 characters$/);
  assert.match(templateProblem(`${"a/".repeat(256)}{stream}`, "folder") ?? "", /must be at most 512 characters/);
});

Deno.test("renderTemplate refuses hostile values, naming the placeholder and the value", () => {
  const file = "{record_dir}/{stream}_{record_id}_{start}_{end}.mp4";
  const ok = { ...VALUES, endMs: END_MS, recordDir: "cam/2026/11/21" };
  const cases: { values: TemplateValues; message: string }[] = [
    {
      values: { ...ok, stream: "../x" },
      message: '{stream} value is not usable: stream name "../x": ".." must not start with "."',
    },
    {
      values: { ...ok, stream: "a/b/c" },
      message: '{stream} value is not usable: stream name "a/b/c" has more than one "/" (a stream is "name" or ' +
        '"app/name")',
    },
    {
      values: { ...ok, stream: ".." },
      message: '{stream} value is not usable: stream name ".." must not start with "."',
    },
    { values: { ...ok, stream: "" }, message: "{stream} value is not usable: stream name must not be empty" },
    {
      values: { ...ok, stream: "a\u0000b" },
      message: '{stream} value is not usable: stream name "a\\u0000b" must not contain control characters, ' +
        'found "\\u0000" (U+0000)',
    },
    {
      values: { ...ok, recordId: "a/b" },
      message: '{record_id} value is not usable: record id "a/b" must not contain "/"',
    },
    {
      values: { ...ok, recordId: ".." },
      message: '{record_id} value is not usable: path ".." must not contain "." or ".." segments',
    },
    {
      values: { ...ok, recordDir: "/etc" },
      message: '{record_dir} value is not usable: path "/etc" must be relative (no leading "/")',
    },
    {
      values: { ...ok, recordDir: "cam/../../etc" },
      message: '{record_dir} value is not usable: path "cam/../../etc" must not contain "." or ".." segments',
    },
    { values: { ...VALUES, endMs: END_MS }, message: "{record_dir} needs a recordDir value" },
    { values: { ...VALUES, recordDir: "cam" }, message: "{end} needs an endMs value" },
  ];
  for (const { values, message } of cases) {
    assert.throws(() => renderTemplate(file, values), { message: `template ${JSON.stringify(file)}: ${message}` });
  }
  assert.throws(() => renderTemplate(file, { ...ok, startMs: Number.NaN }), { name: "RangeError", message: /NaN/ });
  assert.throws(() => renderTemplate(file, { ...ok, endMs: Number.NaN }), { name: "RangeError", message: /NaN/ });
});

Deno.test("renderTemplate names the rendered path when valid values still make an invalid one", () => {
  // A 100-character stream name is valid, but the default file name then exceeds the 128-character segment limit.
  const stream = "s".repeat(100);
  const values = { ...VALUES, stream, endMs: END_MS, recordDir: dailyRecordDir(stream, START_MS) };
  const path = `${stream}/2026/11/21/${stream}_2026-11-21T10-05-03Z_2026-11-21T11-06-04Z.mp4`;
  assert.throws(() => renderTemplate(DEFAULT_FILE_TEMPLATE, values), {
    message: `template ${JSON.stringify(DEFAULT_FILE_TEMPLATE)} rendered an invalid path: ` +
      `path ${JSON.stringify(path)} has a segment longer than 128 characters`,
  });
  // Years past 9999 render with five digits, which still make a valid path.
  assert.equal(
    renderTemplate("{stream}/{start}", { ...VALUES, startMs: Date.UTC(10000, 0, 1) }),
    "cam/10000-01-01T00-00-00Z",
  );
});

Deno.test("renderTemplate checks only the values the template uses", () => {
  const hostile = { stream: "cam", recordId: "../../etc", startMs: START_MS, recordDir: "/etc" };
  assert.equal(renderTemplate(DEFAULT_FOLDER_TEMPLATE, hostile), "cam/2026/11/21");
});

Deno.test("renderTemplate throws for a template that templateProblem refuses on syntax", () => {
  assert.throws(() => renderTemplate("{stream}/{nope}", VALUES), {
    message: `template "{stream}/{nope}" uses unknown placeholder "{nope}"; known placeholders are ${KNOWN}`,
  });
  assert.throws(() => renderTemplate("{stream", VALUES), {
    message: 'template "{stream" has a "{" without a matching "}" at index 0',
  });
  assert.throws(() => renderTemplate("../{stream}", VALUES), {
    message: 'template "../{stream}" rendered an invalid path: path "../cam" must not contain "." or ".." segments',
  });
});
