/**
 * Just enough XML writing for manifests: escaped attributes and text, indented elements. It writes; it does not
 * parse, validate against a schema, or handle namespaces beyond a plain xmlns attribute.
 */

/** Escapes `text` for use inside a double-quoted attribute or as element text (XML 1.0 §2.4, §3.3.3). */
function escapeXml(text: string): string {
  return text.replace(/[&<>"'\t\n\r]/g, (char) => ESCAPES[char] ?? char);
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  // Attribute-value normalisation would turn these into spaces, so keep them as character references.
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;",
};

/** An attribute; undefined values are left out. */
export type XmlAttribute = readonly [name: string, value: string | number | undefined];

/** An element with attributes and either child elements or text. */
export interface XmlElement {
  name: string;
  attributes: readonly XmlAttribute[];
  children?: readonly XmlElement[];
  text?: string;
}

/** Shorthand for an element with child elements. */
export function el(
  name: string,
  attributes: readonly XmlAttribute[],
  children: readonly XmlElement[] = [],
): XmlElement {
  return { name, attributes, children };
}

/** Serialises `element` with two-space indentation, one element per line. */
export function serializeXml(element: XmlElement, depth = 0): string {
  const indent = "  ".repeat(depth);
  const attributes = element.attributes
    .filter((a): a is readonly [string, string | number] => a[1] !== undefined)
    .map(([name, value]) => ` ${name}="${escapeXml(String(value))}"`)
    .join("");
  const open = `${indent}<${element.name}${attributes}`;
  if (element.text !== undefined) return `${open}>${escapeXml(element.text)}</${element.name}>\n`;
  const children = element.children ?? [];
  if (children.length === 0) return `${open}/>\n`;
  return `${open}>\n${children.map((child) => serializeXml(child, depth + 1)).join("")}${indent}</${element.name}>\n`;
}
