/**
 * Writing canonical values (see submission-values.ts) as submission XML:
 * patching a submission in place for an edit, building a new one, and
 * updating the meta block. Output is deterministic: the same schema, values
 * and meta always give the same bytes (Kobo answers a byte-identical resend
 * with 202, a different one with the same instanceID with 409).
 */
import type { CborMap, CborValue } from "../engine/cbor.js";
import { FieldValueError, valueToText } from "./field-codec.js";
import type { FieldNode, FormSchema, GroupNode, RepeatNode, SchemaNode } from "./form-schema.js";
import { childElements, element, firstChild, serializeXml, setText, type XmlElement, type XmlNode } from "./xml.js";

/** The meta block of a submission. */
export interface SubmissionMeta {
  /** This version's id, "uuid:<v4>"; new on every edit. */
  readonly instanceId: string;
  /** Kobo only: the id that stays the same across edits and servers. */
  readonly rootUuid?: string;
  /** On an edit: the instanceID of the version being replaced (the server's current one). */
  readonly deprecatedId?: string;
  /** Kobo only: the original capture time (ISO 8601), kept as `_submission_time` for new submissions. */
  readonly submissionDate?: string;
}

/** Envelope elements that close a submission: answers are inserted before them. */
const TRAILING_ENVELOPE = new Set(["meta", "__version__"]);

const textNodes = (text: string): XmlNode[] => (text === "" ? [] : [text]);
const localName = (name: string): string => name.slice(name.indexOf(":") + 1);

/** A replicable node with the groups around it (outermost first) and its siblings in form order. */
interface Placement {
  readonly node: FieldNode | RepeatNode;
  readonly groups: readonly GroupNode[];
  readonly siblings: readonly SchemaNode[];
}

function placements(schema: FormSchema): Map<string, Placement> {
  const out = new Map<string, Placement>();
  const visit = (nodes: readonly SchemaNode[], groups: readonly GroupNode[]): void => {
    for (const n of nodes) {
      if (n.kind === "group") visit(n.children, [...groups, n]);
      else out.set(n.path, { node: n, groups, siblings: nodes });
    }
  };
  visit(schema.nodes, []);
  return out;
}

/** Where an element named `name` goes among `parent`'s children: after its earlier siblings in form order, before later ones and meta. */
function insertionIndex(parent: XmlElement, siblings: readonly SchemaNode[], name: string): number {
  const order = siblings.map((s) => s.name);
  const rank = order.indexOf(name);
  let after = -1;
  parent.children.forEach((c, i) => {
    if (typeof c !== "string" && order.indexOf(c.name) >= 0 && order.indexOf(c.name) < rank) after = i;
  });
  if (after >= 0) return after + 1;
  const before = parent.children.findIndex((c) => typeof c !== "string" && (order.indexOf(c.name) > rank || TRAILING_ENVELOPE.has(localName(c.name))));
  return before >= 0 ? before : parent.children.length;
}

function ensureChild(parent: XmlElement, siblings: readonly SchemaNode[], name: string): XmlElement {
  const found = firstChild(parent, name);
  if (found) return found;
  const el = element(name);
  parent.children.splice(insertionIndex(parent, siblings, name), 0, el);
  return el;
}

type Lookup = (key: string) => CborValue | undefined;

function buildNodes(nodes: readonly SchemaNode[], prefix: string, get: Lookup): XmlElement[] {
  const out: XmlElement[] = [];
  for (const n of nodes) {
    const key = prefix + n.name;
    if (n.kind === "field") out.push(element(n.name, textNodes(valueToText(n.type, get(key) ?? null))));
    else if (n.kind === "group") out.push(element(n.name, buildNodes(n.children, `${key}/`, get)));
    else out.push(...buildInstances(n, get(key) ?? null));
  }
  return out;
}

const isMap = (v: CborValue): v is CborMap => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** A repeat's instance elements, every child present in form order. @throws FieldValueError unless the value is null or an array of maps. */
function buildInstances(repeat: RepeatNode, value: CborValue): XmlElement[] {
  if (value === null) return [];
  if (!Array.isArray(value)) throw new FieldValueError("repeat", typeof value);
  return value.map((inst) => {
    if (!isMap(inst)) throw new FieldValueError("repeat", "array element that is not a map");
    return element(repeat.name, buildNodes(repeat.children, "", (k) => (Object.hasOwn(inst, k) ? inst[k] : undefined)));
  });
}

function replaceInstances(parent: XmlElement, siblings: readonly SchemaNode[], repeat: RepeatNode, value: CborValue): void {
  const fresh = buildInstances(repeat, value);
  const isInstance = (c: XmlNode): boolean => typeof c !== "string" && c.name === repeat.name;
  const first = parent.children.findIndex(isInstance);
  // Every removed node sits at or after `first`, so `first` is still the old place.
  parent.children = parent.children.filter((c) => !isInstance(c));
  parent.children.splice(first >= 0 ? first : insertionIndex(parent, siblings, repeat.name), 0, ...fresh);
}

/**
 * Patches a submission in place: each path in `values` gets its element's
 * text (null → an empty element), creating the element and missing groups in
 * form order; a repeat's instances are all replaced by ones built from its
 * array (where the first one was, else in form order; null removes them).
 * Elements of paths not in `values` are left as they are, so local-only
 * fields survive. Returns the paths skipped because the schema has no such
 * replicable node.
 * @throws FieldValueError for a value of a shape no reader produces.
 */
export function writeValuesToXml(schema: FormSchema, root: XmlElement, values: ReadonlyMap<string, CborValue | null>): string[] {
  const where = placements(schema);
  const skipped: string[] = [];
  for (const [path, value] of values) {
    const p = where.get(path);
    if (!p) {
      skipped.push(path);
      continue;
    }
    let parent = root;
    let siblings: readonly SchemaNode[] = schema.nodes;
    for (const g of p.groups) {
      parent = ensureChild(parent, siblings, g.name);
      siblings = g.children;
    }
    if (p.node.kind === "field") setText(ensureChild(parent, siblings, p.node.name), valueToText(p.node.type, value));
    else replaceInstances(parent, siblings, p.node, value);
  }
  return skipped;
}

function metaChildren(schema: FormSchema, meta: SubmissionMeta): XmlElement[] {
  const out = [element("instanceID", [meta.instanceId])];
  if (meta.deprecatedId !== undefined) out.push(element("deprecatedID", [meta.deprecatedId]));
  if (meta.rootUuid !== undefined && schema.server === "kobo") out.push(element("rootUuid", [meta.rootUuid]));
  return out;
}

/**
 * A complete new submission: root `schema.rootName` with `id` (ODK adds
 * `version`, Kobo `submissionDate` when given), every schema node in form
 * order (empty elements for absent answers, repeats as sibling instances),
 * Kobo's `formhub/uuid` first and `__version__` before `meta`, then `meta`
 * with instanceID, deprecatedID when given and rootUuid (Kobo only) when given.
 * @throws FieldValueError for a value of a shape no reader produces.
 */
export function buildSubmissionXml(schema: FormSchema, values: ReadonlyMap<string, CborValue | null>, meta: SubmissionMeta): string {
  const kobo = schema.server === "kobo";
  const attrs: Record<string, string> = { id: schema.formId };
  if (!kobo) attrs.version = schema.version;
  if (kobo && meta.submissionDate !== undefined) attrs.submissionDate = meta.submissionDate;
  const children: XmlElement[] = [];
  if (kobo) children.push(element("formhub", [element("uuid", textNodes(schema.formhubUuid ?? ""))]));
  children.push(...buildNodes(schema.nodes, "", (k) => values.get(k)));
  if (kobo) children.push(element("__version__", textNodes(schema.version)));
  children.push(element("meta", metaChildren(schema, meta)));
  return serializeXml(element(schema.rootName, children, attrs));
}

/** Sets the text of `meta`'s child `name` (any prefix), creating it after the last of `after` present, else first. */
function setMetaChild(meta: XmlElement, name: string, text: string, after: readonly string[]): void {
  const kids = childElements(meta);
  const found = kids.find((c) => localName(c.name) === name);
  if (found) return setText(found, text);
  const prefix = meta.name.slice(0, meta.name.indexOf(":") + 1);
  const anchor = kids.filter((c) => after.includes(localName(c.name))).pop();
  meta.children.splice(anchor ? meta.children.indexOf(anchor) + 1 : 0, 0, element(prefix + name, [text]));
}

/**
 * Updates the meta block of an existing submission for an edit: sets
 * instanceID; sets deprecatedID when given and removes a stale one when not;
 * for Kobo sets rootUuid when given (ODK ignores it), otherwise keeps what is
 * there. Creates `meta` (at the end) if missing; keeps other meta children.
 * `submissionDate` is not used (it only matters for new submissions).
 */
export function setMeta(schema: FormSchema, root: XmlElement, meta: SubmissionMeta): void {
  let block = childElements(root).find((c) => localName(c.name) === "meta");
  if (!block) {
    block = element("meta");
    root.children.push(block);
  }
  setMetaChild(block, "instanceID", meta.instanceId, []);
  if (meta.deprecatedId !== undefined) setMetaChild(block, "deprecatedID", meta.deprecatedId, ["instanceID"]);
  else block.children = block.children.filter((c) => typeof c === "string" || localName(c.name) !== "deprecatedID");
  if (meta.rootUuid !== undefined && schema.server === "kobo") setMetaChild(block, "rootUuid", meta.rootUuid, ["instanceID", "deprecatedID"]);
}
