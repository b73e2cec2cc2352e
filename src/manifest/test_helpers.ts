/**
 * Test-only: builders of index tracks, and a small XML reader, independent of xml.ts, that checks well-formedness
 * and returns a tree, so tests can read rendered manifests back. The reader knows elements, attributes, text, the
 * five predefined entities, character references and an XML declaration; no DTDs, comments, CDATA or namespaces.
 */

import type { TrackIndex } from "./recording_index.ts";

/** Segments from [startTicks, durationTicks] pairs. */
function runs(pairs: [number, number][]): TrackIndex["segments"] {
  return pairs.map(([startTicks, durationTicks]) => ({ startTicks, durationTicks }));
}

/** A 720p30 H.264 track at 90 kHz numbered from 1, with `pairs` as its segments. */
export function video(pairs: [number, number][], overrides: Partial<TrackIndex> = {}): TrackIndex {
  return {
    codecs: "avc1.42c01f",
    timescale: 90000,
    init: "init.m4s",
    media: "seg_$Number%04d$.m4s",
    startNumber: 1,
    segments: runs(pairs),
    bandwidthBps: 1_000_000.4,
    widthPx: 1280,
    heightPx: 720,
    frameRate: 30,
    ...overrides,
  };
}

/** A stereo Opus track at 48 kHz numbered from 1, with `pairs` as its segments. */
export function audio(pairs: [number, number][], overrides: Partial<TrackIndex> = {}): TrackIndex {
  return {
    codecs: "opus",
    timescale: 48000,
    init: "audio_init.m4s",
    media: "audio_seg_$Number%04d$.m4s",
    startNumber: 1,
    segments: runs(pairs),
    bandwidthBps: 64000,
    sampleRate: 48000,
    channels: 2,
    ...overrides,
  };
}

/** An element read back from XML text; attribute values and text are unescaped. */
export interface XmlNode {
  name: string;
  attributes: Record<string, string>;
  children: XmlNode[];
  text: string;
}

function isHexDigit(c: string): boolean {
  return (c >= "0" && c <= "9") || (c >= "a" && c <= "f") || (c >= "A" && c <= "F");
}

/** Reads `xml`, throwing on anything not well-formed (unbalanced tags, bad entities, stray "<" or "&"...). */
export function readXml(xml: string): XmlNode {
  let pos = 0;
  const fail = (why: string): never => {
    const line = xml.slice(0, pos).split("\n").length;
    throw new Error(`not well-formed XML at line ${line}: ${why}`);
  };
  const isNameChar = (c: string | undefined) =>
    c !== undefined && ((c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c === "_" ||
      c === "-" || c === "." || c === ":");
  const skipSpace = () => {
    while (xml[pos] === " " || xml[pos] === "\n" || xml[pos] === "\t" || xml[pos] === "\r") pos++;
  };
  const readName = (): string => {
    const start = pos;
    while (isNameChar(xml[pos])) pos++;
    if (pos === start) fail(`expected a name, found ${JSON.stringify(xml[pos] ?? "end of input")}`);
    return xml.slice(start, pos);
  };
  const unescape = (raw: string): string => {
    let out = "";
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i];
      if (c === "<") fail('"<" in text or attribute value');
      if (c !== "&") {
        out += c;
        continue;
      }
      const end = raw.indexOf(";", i);
      if (end < 0) fail('"&" without ";"');
      const entity = raw.slice(i + 1, end);
      const named: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
      if (named[entity] !== undefined) {
        out += named[entity];
      } else if (entity.startsWith("#x") && entity.length > 2 && [...entity.slice(2)].every(isHexDigit)) {
        out += String.fromCodePoint(parseInt(entity.slice(2), 16));
      } else if (
        entity.startsWith("#") && entity.length > 1 && [...entity.slice(1)].every((d) => d >= "0" && d <= "9")
      ) {
        out += String.fromCodePoint(parseInt(entity.slice(1), 10));
      } else {
        fail(`unknown entity &${entity};`);
      }
      i = end;
    }
    return out;
  };
  const readElement = (): XmlNode => {
    if (xml[pos] !== "<") fail('expected "<"');
    pos++;
    const node: XmlNode = { name: readName(), attributes: {}, children: [], text: "" };
    for (;;) {
      const before = pos;
      skipSpace();
      if (xml.startsWith("/>", pos)) {
        pos += 2;
        return node;
      }
      if (xml[pos] === ">") {
        pos++;
        break;
      }
      if (pos === before) fail("expected whitespace before an attribute");
      const attribute = readName();
      if (Object.hasOwn(node.attributes, attribute)) fail(`duplicate attribute ${attribute}`);
      if (xml[pos] !== "=") fail(`expected "=" after ${attribute}`);
      pos++;
      const quote = xml[pos];
      if (quote !== '"' && quote !== "'") fail("expected a quoted attribute value");
      const end = xml.indexOf(quote as string, pos + 1);
      if (end < 0) fail("unterminated attribute value");
      node.attributes[attribute] = unescape(xml.slice(pos + 1, end));
      pos = end + 1;
    }
    for (;;) {
      const lt = xml.indexOf("<", pos);
      if (lt < 0) fail(`unclosed <${node.name}>`);
      node.text += unescape(xml.slice(pos, lt));
      pos = lt;
      if (xml.startsWith("</", pos)) {
        pos += 2;
        const closing = readName();
        if (closing !== node.name) fail(`</${closing}> closes <${node.name}>`);
        skipSpace();
        if (xml[pos] !== ">") fail('expected ">"');
        pos++;
        if (node.children.length > 0) node.text = node.text.trim();
        return node;
      }
      node.children.push(readElement());
    }
  };
  if (xml.startsWith("<?xml")) {
    const end = xml.indexOf("?>");
    if (end < 0) fail("unterminated XML declaration");
    pos = end + 2;
  }
  skipSpace();
  const root = readElement();
  skipSpace();
  if (pos !== xml.length) fail("content after the root element");
  return root;
}

/** All descendants of `node` (depth first, itself excluded) named `name`. */
export function findAll(node: XmlNode, name: string): XmlNode[] {
  return node.children.flatMap((child) => [...(child.name === name ? [child] : []), ...findAll(child, name)]);
}
