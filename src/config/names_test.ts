import assert from "node:assert/strict";
import {
  relativePathProblem,
  streamApp,
  streamBaseName,
  streamNameProblem,
  streamPatternMatches,
  streamPatternProblem,
} from "./names.ts";

Deno.test("streamNameProblem accepts names made of the allowed characters", () => {
  const names = ["a", "room1", "web-cam_2.main~b", "A".repeat(128), "a..b", "x.", "-", "~", "live/room1"];
  for (const name of [...names, `${"A".repeat(128)}/${"B".repeat(128)}`]) {
    assert.equal(streamNameProblem(name), undefined, name);
  }
});

Deno.test("streamNameProblem names the value and the rule it breaks", () => {
  const cases: { name: string; problem: string }[] = [
    { name: "", problem: "stream name must not be empty" },
    { name: ".", problem: 'stream name "." must not start with "."' },
    { name: "..", problem: 'stream name ".." must not start with "."' },
    { name: ".hidden", problem: 'stream name ".hidden" must not start with "."' },
    { name: "a/b/c", problem: 'stream name "a/b/c" has more than one "/" (a stream is "name" or "app/name")' },
    { name: "../etc", problem: 'stream name "../etc": ".." must not start with "."' },
    { name: "live/.x", problem: 'stream name "live/.x": ".x" must not start with "."' },
    { name: "/abs", problem: 'stream name "/abs" has an empty app or name around its "/"' },
    { name: "live/", problem: 'stream name "live/" has an empty app or name around its "/"' },
    {
      name: `live/${"a".repeat(129)}`,
      problem: `stream name "live/${"a".repeat(129)}": "${"a".repeat(129)}" must be at most 128 characters, got 129`,
    },
    { name: "a\\b", problem: 'stream name "a\\\\b" must not contain backslashes' },
    { name: "%2e%2e", problem: 'stream name "%2e%2e" must not contain "%" (no percent-encoding)' },
    {
      name: "a\u0000b",
      problem: 'stream name "a\\u0000b" must not contain control characters, found "\\u0000" (U+0000)',
    },
    { name: "a\nb", problem: 'stream name "a\\nb" must not contain control characters, found "\\n" (U+000A)' },
    { name: "a\u0085", problem: 'stream name "a\u0085" must not contain control characters, found "\u0085" (U+0085)' },
    {
      name: "a b",
      problem: 'stream name "a b" contains " " (U+0020); allowed characters are A-Z a-z 0-9 . _ ~ - /',
    },
    {
      // Cyrillic "а" looks like Latin "a".
      name: "r\u043e\u043em",
      problem: 'stream name "r\u043e\u043em" contains "\u043e" (U+043E); allowed characters are A-Z a-z 0-9 . _ ~ - /',
    },
    {
      name: "x*",
      problem: 'stream name "x*" contains "*" (U+002A); allowed characters are A-Z a-z 0-9 . _ ~ - /',
    },
    {
      name: "a".repeat(129),
      problem: `stream name "${"a".repeat(129)}" must be at most 128 characters, got 129`,
    },
  ];
  for (const { name, problem } of cases) assert.equal(streamNameProblem(name), problem, JSON.stringify(name));
});

Deno.test("streamPatternProblem allows * where a stream name allows a character", () => {
  for (const pattern of ["*", "web-*", "*-cam", "a*b*c", "room1", "live/*", "*/room1", "live/room1"]) {
    assert.equal(streamPatternProblem(pattern), undefined, pattern);
  }
  assert.equal(streamPatternProblem(".*"), 'stream pattern ".*" must not start with "."');
  assert.equal(
    streamPatternProblem("a/*/b"),
    'stream pattern "a/*/b" has more than one "/" (a stream is "name" or "app/name")',
  );
  assert.equal(
    streamPatternProblem("a?"),
    'stream pattern "a?" contains "?" (U+003F); allowed characters are A-Z a-z 0-9 . _ ~ - * /',
  );
  assert.equal(streamPatternProblem(""), "stream pattern must not be empty");
});

Deno.test("streamPatternMatches treats * as any run of characters and everything else literally", () => {
  const cases: [pattern: string, name: string, matches: boolean][] = [
    ["*", "anything", true],
    ["*", "", true],
    ["room1", "room1", true],
    ["room1", "room10", false],
    ["web-*", "web-", true],
    ["web-*", "web-cam", true],
    ["web-*", "webcam", false],
    ["*-cam", "front-cam", true],
    ["*-cam", "front-cam2", false],
    ["a*b*c", "aXXbYYc", true],
    ["a*b*c", "abcbc", true],
    ["a*b*c", "acb", false],
    ["a.b", "aXb", false],
    ["**", "x", true],
    ["*", "live/room1", true],
    ["live/*", "live/room1", true],
    ["live/*", "vod/room1", false],
    ["live/*", "live", false],
    ["*/room1", "live/room1", true],
    ["room*", "room/x", true],
  ];
  for (const [pattern, name, matches] of cases) {
    assert.equal(streamPatternMatches(pattern, name), matches, `${pattern} ~ ${name}`);
  }
});

Deno.test("relativePathProblem accepts plain relative paths", () => {
  for (const path of ["a", "a/b/c", "live/2025/07/24", "seg_0001.m4s", "a./x", "a..b/c", "x".repeat(128)]) {
    assert.equal(relativePathProblem(path), undefined, path);
  }
  const longest = Array.from({ length: 4 }, () => "x".repeat(127)).join("/") + "/abcd"; // 4 * 127 + 3 + 5 = 516
  assert.equal(relativePathProblem(longest), `path "${longest}" must be at most 512 characters, got 516`);
  const fits = Array.from({ length: 4 }, () => "x".repeat(127)).join("/"); // 511
  assert.equal(relativePathProblem(fits), undefined);
});

Deno.test("relativePathProblem refuses hostile paths with a message naming them", () => {
  const cases: { path: string; problem: string }[] = [
    { path: "", problem: "path must not be empty" },
    { path: "..", problem: 'path ".." must not contain "." or ".." segments' },
    { path: ".", problem: 'path "." must not contain "." or ".." segments' },
    { path: "a/../b", problem: 'path "a/../b" must not contain "." or ".." segments' },
    { path: "a/./b", problem: 'path "a/./b" must not contain "." or ".." segments' },
    { path: "../../etc/passwd", problem: 'path "../../etc/passwd" must not contain "." or ".." segments' },
    { path: "/abs", problem: 'path "/abs" must be relative (no leading "/")' },
    { path: ".hidden/x", problem: 'path ".hidden/x" must not contain hidden segments (starting with ".")' },
    { path: "a/.liverec", problem: 'path "a/.liverec" must not contain hidden segments (starting with ".")' },
    { path: "a//b", problem: 'path "a//b" must not contain empty segments ("//" or a trailing "/")' },
    { path: "a/", problem: 'path "a/" must not contain empty segments ("//" or a trailing "/")' },
    { path: "a\\b", problem: 'path "a\\\\b" must not contain backslashes' },
    { path: "..\\..\\x", problem: 'path "..\\\\..\\\\x" must not contain backslashes' },
    { path: "%2e%2e/x", problem: 'path "%2e%2e/x" must not contain "%" (no percent-encoding)' },
    {
      path: "a\u0000.m4s",
      problem: 'path "a\\u0000.m4s" must not contain control characters, found "\\u0000" (U+0000)',
    },
    { path: "a\nb", problem: 'path "a\\nb" must not contain control characters, found "\\n" (U+000A)' },
    { path: "C:x", problem: 'path "C:x" contains ":" (U+003A); allowed characters are A-Z a-z 0-9 . _ ~ - /' },
    {
      // U+2215 DIVISION SLASH and U+FF0E FULLWIDTH FULL STOP look like "/" and ".".
      path: "a\u2215\uff0e\uff0e",
      problem: 'path "a\u2215\uff0e\uff0e" contains "\u2215" (U+2215); allowed characters are A-Z a-z 0-9 . _ ~ - /',
    },
    { path: `${"x".repeat(129)}/a`, problem: `path "${"x".repeat(129)}/a" has a segment longer than 128 characters` },
  ];
  for (const { path, problem } of cases) assert.equal(relativePathProblem(path), problem, JSON.stringify(path));
});

Deno.test('streamApp and streamBaseName split app/name; a name without an app has the app ""', () => {
  assert.deepEqual([streamApp("live/room1"), streamBaseName("live/room1")], ["live", "room1"]);
  assert.deepEqual([streamApp("room1"), streamBaseName("room1")], ["", "room1"]);
});
