/**
 * A small XML tree for submission instances and XForm definitions: elements,
 * attributes, text, CDATA; comments, processing instructions and the doctype
 * are skipped. Bounded (depth, size) because the documents come from servers
 * we do not control. Namespace prefixes stay part of names ("h:head").
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}

export type XmlNode = XmlElement | string;

/** A document that is not well-formed XML, with where it broke. */
export class XmlError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at character ${offset})`);
    this.name = "XmlError";
  }
}

/** Limits against hostile documents: nesting depth and total characters. */
export const XML_LIMITS = { maxDepth: 64, maxChars: 64 * 1024 * 1024 } as const;

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decodeEntities(s: string, at: number): string {
  if (!s.includes("&")) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (_m, ref: string) => {
    if (ref.startsWith("#x")) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith("#")) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    const v = ENTITIES[ref];
    if (v === undefined) throw new XmlError(`unknown entity &${ref};`, at);
    return v;
  });
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.\u00B7-\uFFFF]*/y;
const ATTR = /\s*([A-Za-z_:][-A-Za-z0-9_:.\u00B7-\uFFFF]*)\s*=\s*("([^"]*)"|'([^']*)')/y;

/** Parses a document into its root element. Throws XmlError on anything not well-formed. */
export function parseXml(text: string): XmlElement {
  if (text.length > XML_LIMITS.maxChars) throw new XmlError(`document larger than ${XML_LIMITS.maxChars} characters`, 0);
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;

  const skipTo = (marker: string, what: string): void => {
    const end = text.indexOf(marker, i);
    if (end < 0) throw new XmlError(`unterminated ${what}`, i);
    i = end + marker.length;
  };

  while (i < text.length) {
    const lt = text.indexOf("<", i);
    const chunk = text.slice(i, lt < 0 ? text.length : lt);
    if (chunk.length > 0) {
      const top = stack[stack.length - 1];
      if (top) top.children.push(decodeEntities(chunk, i));
      else if (chunk.trim() !== "") throw new XmlError("text outside the root element", i);
    }
    if (lt < 0) break;
    i = lt;
    if (text.startsWith("<?", i)) skipTo("?>", "processing instruction");
    else if (text.startsWith("<!--", i)) skipTo("-->", "comment");
    else if (text.startsWith("<![CDATA[", i)) {
      const end = text.indexOf("]]>", i);
      if (end < 0) throw new XmlError("unterminated CDATA section", i);
      const top = stack[stack.length - 1];
      if (!top) throw new XmlError("CDATA outside the root element", i);
      top.children.push(text.slice(i + 9, end));
      i = end + 3;
    } else if (text.startsWith("<!", i)) skipTo(">", "declaration");
    else if (text.startsWith("</", i)) {
      NAME.lastIndex = i + 2;
      const m = NAME.exec(text);
      const open = stack.pop();
      if (!m || !open || open.name !== m[0]) throw new XmlError(`unexpected closing tag${m ? ` </${m[0]}>` : ""}`, i);
      i = NAME.lastIndex;
      while (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r") i++;
      if (text[i] !== ">") throw new XmlError("malformed closing tag", i);
      i++;
    } else {
      NAME.lastIndex = i + 1;
      const m = NAME.exec(text);
      if (!m) throw new XmlError("malformed tag", i);
      const el: XmlElement = { name: m[0], attrs: {}, children: [] };
      i = NAME.lastIndex;
      for (;;) {
        ATTR.lastIndex = i;
        const a = ATTR.exec(text);
        if (!a) break;
        el.attrs[a[1]!] = decodeEntities(a[3] ?? a[4] ?? "", i);
        i = ATTR.lastIndex;
      }
      while (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r") i++;
      const selfClosing = text.startsWith("/>", i);
      if (!selfClosing && text[i] !== ">") throw new XmlError(`malformed start tag <${el.name}>`, i);
      i += selfClosing ? 2 : 1;
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(el);
      else if (root) throw new XmlError("more than one root element", i);
      else root = el;
      if (!selfClosing) {
        stack.push(el);
        if (stack.length > XML_LIMITS.maxDepth) throw new XmlError(`nesting deeper than ${XML_LIMITS.maxDepth}`, i);
      }
    }
  }
  if (stack.length > 0) throw new XmlError(`<${stack[stack.length - 1]!.name}> is never closed`, text.length);
  if (!root) throw new XmlError("no root element", 0);
  return root;
}

function escapeText(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, "&quot;").replace(/\n/g, "&#10;").replace(/\r/g, "&#13;").replace(/\t/g, "&#9;");
}

/** Serializes an element (no XML declaration, no added whitespace): same tree in, same bytes out. */
export function serializeXml(el: XmlElement): string {
  const parts: string[] = [];
  const walk = (e: XmlElement): void => {
    parts.push("<", e.name);
    for (const [k, v] of Object.entries(e.attrs)) parts.push(" ", k, '="', escapeAttr(v), '"');
    if (e.children.length === 0) {
      parts.push("/>");
      return;
    }
    parts.push(">");
    for (const c of e.children) {
      if (typeof c === "string") parts.push(escapeText(c));
      else walk(c);
    }
    parts.push("</", e.name, ">");
  };
  walk(el);
  return parts.join("");
}

export function element(name: string, children: XmlNode[] = [], attrs: Record<string, string> = {}): XmlElement {
  return { name, attrs, children };
}

/** Child elements, optionally only those named `name`. */
export function childElements(el: XmlElement, name?: string): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== "string" && (name === undefined || c.name === name));
}

export function firstChild(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c): c is XmlElement => typeof c !== "string" && c.name === name);
}

/** The concatenated text directly inside `el` (not of its descendants). */
export function textOf(el: XmlElement): string {
  return el.children.filter((c): c is string => typeof c === "string").join("");
}

/** True if the element holds other elements (a group or repeat instance, not an answer). */
export function hasElementChildren(el: XmlElement): boolean {
  return el.children.some((c) => typeof c !== "string");
}

/** The first element at a '/'-separated path below `el` ("grp/q1"). */
export function findPath(el: XmlElement, path: string): XmlElement | undefined {
  let cur: XmlElement | undefined = el;
  for (const step of path.split("/")) {
    if (!cur) return undefined;
    cur = firstChild(cur, step);
  }
  return cur;
}

/** Replaces the element's content with one text node (or nothing for the empty string). */
export function setText(el: XmlElement, text: string): void {
  el.children = text === "" ? [] : [text];
}
