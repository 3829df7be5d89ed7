/**
 * Submission instances: what Central reads from a submitted XML envelope
 * (lib/model/frames/submission.js: the root `id` and `version` attributes,
 * meta/instanceID or a root instanceID, meta/deprecatedID,
 * meta/instanceName), and, for the double's own "device" submissions,
 * building instance XML from plain answers and reading answers back.
 */
import { randomUUID } from "node:crypto";
import { childElements, element, parseXml, serializeXml, textOf, type XmlElement, type XmlNode } from "../xml.js";
import { isStructural, parseXmlBody, stripNamespaces, type OdkField } from "./odk-forms.js";
import { problems } from "./odk-problems.js";

/** The envelope facts of a submitted instance. */
export interface SubmissionEnvelope {
  readonly xmlFormId: string;
  /** '' when the root has no version attribute. */
  readonly version: string;
  /** As sent; a bare v4 uuid (no "uuid:" prefix) when the XML carries none, as Central generates. */
  readonly instanceId: string;
  readonly deprecatedId: string | null;
  readonly instanceName: string | null;
  readonly xml: string;
}

const local = (el: XmlElement): string => stripNamespaces(el.name);
const child = (el: XmlElement | undefined, name: string): XmlElement | undefined =>
  el === undefined ? undefined : childElements(el).find((c) => local(c) === name);
const textOrNull = (el: XmlElement | undefined): string | null => {
  const t = el === undefined ? "" : textOf(el);
  return t === "" ? null : t;
};

/** Reads the envelope; 400.1 for XML that does not parse, 400.2 without a root id. */
export function parseEnvelope(xml: string): SubmissionEnvelope {
  const root = parseXmlBody(xml);
  const attr = (name: string): string | undefined => {
    const key = Object.keys(root.attrs).find((k) => stripNamespaces(k) === name);
    return key === undefined ? undefined : root.attrs[key];
  };
  const xmlFormId = attr("id");
  if (xmlFormId === undefined || xmlFormId.trim() === "") throw problems.missingParameter("form ID xml attribute");
  const meta = child(root, "meta");
  const found = textOrNull(child(meta, "instanceID")) ?? textOrNull(child(root, "instanceID"));
  return {
    xmlFormId,
    version: attr("version") ?? "",
    instanceId: found ?? randomUUID(),
    deprecatedId: textOrNull(child(meta, "deprecatedID")),
    instanceName: textOrNull(child(meta, "instanceName")),
    xml,
  };
}

/** Plain answers: '/'-joined paths to strings (numbers and booleans are stringified); repeats are arrays of answer records relative to the repeat. */
export type Answers = Record<string, unknown>;

/** Thrown when a test's answers do not fit the form: a programmer error, not a server response. */
export class AnswersError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AnswersError";
  }
}

/**
 * Builds an instance from the form's primary-instance template, as Collect
 * would save it: every element of the template in order, answers as text,
 * repeats expanded from arrays, meta/instanceID set (and meta/deprecatedID
 * added for an edit).
 */
export function buildInstanceXml(
  template: XmlElement,
  fields: readonly OdkField[],
  answers: Answers,
  meta: { instanceId: string; deprecatedId?: string },
): string {
  const byPath = new Map(fields.map((f) => [f.path, f]));
  const used = new Set<string>();
  const root = element(template.name, [], { ...template.attrs });
  root.children = fillChildren(template, "", answers, byPath, used);
  const unknown = Object.keys(answers).filter((k) => !used.has(k) && answers[k] !== null && answers[k] !== undefined);
  if (unknown.length > 0) throw new AnswersError(`answers not in the form: ${unknown.join(", ")}`);
  setMeta(root, meta);
  return serializeXml(root);
}

function fillChildren(template: XmlElement, path: string, answers: Answers, byPath: Map<string, OdkField>, used: Set<string>): XmlNode[] {
  const out: XmlNode[] = [];
  const doneRepeats = new Set<string>();
  for (const t of childElements(template)) {
    const name = stripNamespaces(t.name);
    const key = path === "" ? name : `${path}/${name}`;
    const field = byPath.get(`/${key}`);
    if (field?.type === "repeat") {
      if (doneRepeats.has(key)) continue;
      doneRepeats.add(key);
      out.push(...fillRepeat(t, key, answers, byPath, used));
    } else if (field !== undefined && isStructural(field)) {
      out.push(element(t.name, fillChildren(t, key, answers, byPath, used)));
    } else {
      used.add(key);
      const v = answers[key];
      out.push(element(t.name, v === undefined || v === null ? [...t.children] : textNode(v)));
    }
  }
  return out;
}

function fillRepeat(t: XmlElement, key: string, answers: Answers, byPath: Map<string, OdkField>, used: Set<string>): XmlElement[] {
  used.add(key);
  const rows = answers[key];
  if (rows === undefined || rows === null) return [];
  if (!Array.isArray(rows)) throw new AnswersError(`answer "${key}" is a repeat: give an array of records`);
  const template = { ...t, attrs: Object.fromEntries(Object.entries(t.attrs).filter(([k]) => stripNamespaces(k) !== "template")) };
  return rows.map((row: unknown) => {
    if (typeof row !== "object" || row === null) throw new AnswersError(`answer "${key}" must hold records`);
    const prefixed: Answers = {};
    for (const [k, v] of Object.entries(row)) prefixed[`${key}/${k}`] = v;
    const rowUsed = new Set<string>();
    const el = element(t.name, fillChildren(template, key, prefixed, byPath, rowUsed), template.attrs);
    const unknown = Object.keys(prefixed).filter((k) => !rowUsed.has(k));
    if (unknown.length > 0) throw new AnswersError(`answers not in the repeat "${key}": ${unknown.join(", ")}`);
    return el;
  });
}

function textNode(v: unknown): XmlNode[] {
  if (typeof v === "string") return v === "" ? [] : [v];
  if (typeof v === "number" || typeof v === "boolean") return [String(v)];
  throw new AnswersError(`an answer must be a string, number or boolean, got ${JSON.stringify(v)}`);
}

function setMeta(root: XmlElement, meta: { instanceId: string; deprecatedId?: string }): void {
  let m = childElements(root).find((c) => stripNamespaces(c.name) === "meta");
  if (m === undefined) {
    m = element("meta");
    root.children.push(m);
  }
  const put = (name: string, value: string): void => {
    const el = childElements(m).find((c) => stripNamespaces(c.name) === name);
    if (el === undefined) m.children.push(element(name, [value]));
    else el.children = [value];
  };
  put("instanceID", meta.instanceId);
  if (meta.deprecatedId !== undefined) put("deprecatedID", meta.deprecatedId);
}

/** The answers of an instance, in the same shape `buildInstanceXml` takes (meta excluded). */
export function readAnswers(xml: string, fields: readonly OdkField[]): Answers {
  const byPath = new Map(fields.map((f) => [f.path, f]));
  const out: Answers = {};
  readInto(parseXml(xml), "", byPath, out);
  return out;
}

function readInto(el: XmlElement, path: string, byPath: Map<string, OdkField>, out: Answers, prefix = ""): void {
  for (const c of childElements(el)) {
    const name = stripNamespaces(c.name);
    const full = path === "" ? name : `${path}/${name}`;
    const key = prefix === "" ? full : full.slice(prefix.length + 1);
    if (full === "meta") continue;
    const field = byPath.get(`/${full}`);
    if (field?.type === "repeat") {
      const rows = (out[key] as Answers[] | undefined) ?? [];
      const row: Answers = {};
      readInto(c, full, byPath, row, full);
      rows.push(row);
      out[key] = rows;
    } else if (field?.type === "structure") {
      readInto(c, full, byPath, out, prefix);
    } else if (field !== undefined) {
      const t = textOf(c);
      if (t !== "") out[key] = t;
    }
  }
}
