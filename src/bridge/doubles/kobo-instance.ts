/**
 * Reading a stored submission the way kpi does: its meta ids (instanceID,
 * rootUuid, deprecatedID) and the JSON document the data API serves, built
 * from the XML by the rules of kpi's XFormInstanceParser and
 * ParsedInstance.to_dict_for_mongo (fact sheet §4).
 */
import { childElements, parseXml, textOf, type XmlElement } from "../xml.js";
import type { KoboForm } from "./kobo-form.js";

/** One submission's data-API JSON: answers keyed by full path, plus kpi's underscore keys. */
export type KoboSubmissionJson = Record<string, unknown>;

export interface AttachmentView {
  readonly pk: number;
  readonly uid: string;
  readonly basename: string;
  readonly mimetype: string;
  /** Soft-deleted: no longer named by any upload question, so kpi hides it. */
  readonly deleted: boolean;
}

/** What the JSON builder needs of a stored submission (its current version). */
export interface InstanceView {
  readonly id: number;
  readonly xml: string;
  /** Current instanceID without "uuid:" (kpi's `Instance.uuid`). */
  readonly uuid: string;
  /** Without "uuid:" (kpi's `Instance.root_uuid`). */
  readonly rootUuid: string;
  readonly dateCreated: Date;
  readonly submittedBy: string | null;
  readonly attachments: readonly AttachmentView[];
}

/** Where links point and whose files they are. */
export interface JsonContext {
  /** Scheme and host the request came to, e.g. "http://127.0.0.1:8000". */
  readonly origin: string;
  /** The request's `format` query parameter; kpi's reverse() carries it into attachment links. */
  readonly format?: string;
  readonly assetUid: string;
  readonly owner: string;
  readonly formhubUuid: string;
  readonly form: KoboForm;
}

const THUMB_SUFFIXES = ["large", "medium", "small"] as const;

/** kpi's clean_and_parse_xml: whitespace between tags is dropped before parsing. Throws XmlError. */
export function parseInstanceXml(xml: string): XmlElement {
  return parseXml(xml.trim().replace(/>\s+</g, "><"));
}

export function removeUuidPrefix(id: string): string {
  return id.replace(/^uuid:/, "");
}

/** kpi adds "uuid:" only to ids that carry no scheme prefix at all. */
export function addUuidPrefix(id: string): string {
  return id.includes(":") ? id : `uuid:${id}`;
}

/** A `meta` child's trimmed text (also under the `orx:` prefix), or undefined when absent or empty. */
export function metaValue(root: XmlElement, name: string): string | undefined {
  const isNamed = (el: XmlElement, n: string): boolean => el.name.toLowerCase() === n || el.name.toLowerCase() === `orx:${n}`;
  const meta = childElements(root).find((el) => isNamed(el, "meta"));
  const node = meta && childElements(meta).find((el) => isNamed(el, name.toLowerCase()));
  const text = node ? textOf(node).trim() : "";
  return text === "" ? undefined : text;
}

/** The instanceID kpi stores as `Instance.uuid`: meta/instanceID, else the root's instanceID attribute. */
export function instanceUuidOf(root: XmlElement): string | undefined {
  const id = metaValue(root, "instanceID") ?? (root.attrs["instanceID"] || undefined);
  return id === undefined ? undefined : removeUuidPrefix(id);
}

/** Mongo's `_submission_time` format: UTC, seconds, no zone. */
export function mongoTime(d: Date): string {
  return d.toISOString().slice(0, 19);
}

type NodeValue = string | NodeDict | NodeValue[];
interface NodeDict {
  [name: string]: NodeValue;
}

/** Built documents by instance, valid while the instance's XML and the links' origin are unchanged. */
const built = new WeakMap<InstanceView, { xml: string; ctxKey: string; doc: KoboSubmissionJson }>();

/**
 * The data API's document for a submission, built once per version: kpi keeps
 * it precomputed in Mongo, so a list does not re-parse every submission's XML.
 * The document is shared: callers read, filter and project it, never change it.
 */
export function cachedSubmissionJson(inst: InstanceView, ctx: JsonContext): Readonly<KoboSubmissionJson> {
  // Attachments change without the XML changing (added by a resubmission, soft-deleted by an edit).
  const ctxKey = `${ctx.origin}|${ctx.format ?? ""}|${inst.attachments.map((a) => `${a.pk}${a.deleted ? "d" : ""}`).join(",")}`;
  const hit = built.get(inst);
  if (hit && hit.xml === inst.xml && hit.ctxKey === ctxKey) return hit.doc;
  const doc = submissionJson(inst, ctx);
  built.set(inst, { xml: inst.xml, ctxKey, doc });
  return doc;
}

/** The submission as the data API returns it (before any `fields` projection). */
export function submissionJson(inst: InstanceView, ctx: JsonContext): KoboSubmissionJson {
  const root = parseInstanceXml(inst.xml);
  const doc: KoboSubmissionJson = flattenAnswers(root, ctx.form.repeatPaths);
  doc["_xform_id_string"] = firstAttribute(root, "id") ?? null;
  doc["_uuid"] = inst.uuid;
  doc["meta/rootUuid"] = addUuidPrefix(inst.rootUuid);
  doc["_id"] = inst.id;
  doc["_attachments"] = attachmentsJson(inst, doc, ctx);
  doc["_status"] = "submitted_via_web";
  doc["_geolocation"] = geolocation(doc, ctx.form);
  doc["_submission_time"] = mongoTime(inst.dateCreated);
  doc["_validation_status"] = {};
  doc["_submitted_by"] = inst.submittedBy;
  return doc;
}

function flattenAnswers(root: XmlElement, repeats: ReadonlySet<string>): KoboSubmissionJson {
  const out: KoboSubmissionJson = {};
  const value = nodeValue(root, "", repeats);
  if (value === undefined || typeof value === "string" || Array.isArray(value)) return out;
  for (const [path, v] of flattenDict(value, [])) out[path.join("/")] = v;
  return out;
}

/** kpi's _xml_node_to_dict: leaves are their text, empty nodes vanish, repeats and same-name siblings become lists. */
function nodeValue(el: XmlElement, path: string, repeats: ReadonlySet<string>): NodeValue | undefined {
  const only = el.children[0];
  if (only === undefined) return undefined;
  if (el.children.length === 1 && typeof only === "string") return only;
  const value: NodeDict = {};
  for (const child of childElements(el)) {
    const childPath = path === "" ? child.name : `${path}/${child.name}`;
    const v = nodeValue(child, childPath, repeats);
    if (v === undefined) continue;
    const prev = value[child.name];
    if (repeats.has(childPath)) value[child.name] = [...(Array.isArray(prev) ? prev : []), v];
    else if (prev === undefined) value[child.name] = v;
    else value[child.name] = [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  return Object.keys(value).length === 0 ? undefined : value;
}

/** kpi's _flatten_dict_nest_repeats: groups join into paths; list items become objects keyed by full paths. */
function* flattenDict(d: NodeDict, prefix: readonly string[]): Generator<[string[], unknown]> {
  for (const [key, value] of Object.entries(d)) {
    const path = [...prefix, key];
    if (typeof value === "string") yield [path, value];
    else if (!Array.isArray(value)) yield* flattenDict(value, path);
    else yield [path, value.map((item) => listItem(item, path))];
  }
}

function listItem(item: NodeValue, path: readonly string[]): Record<string, unknown> {
  if (typeof item === "string" || Array.isArray(item)) return { [path.join("/")]: item };
  const out: Record<string, unknown> = {};
  for (const [p, v] of flattenDict(item, path)) out[p.join("/")] = v;
  return out;
}

function firstAttribute(el: XmlElement, name: string): string | undefined {
  if (name in el.attrs) return el.attrs[name];
  for (const child of childElements(el)) {
    const found = firstAttribute(child, name);
    if (found !== undefined) return found;
  }
  return undefined;
}

function geolocation(doc: KoboSubmissionJson, form: KoboForm): [number | null, number | null] {
  for (const path of form.geopointPaths) {
    const v = doc[path];
    if (typeof v !== "string") continue;
    const [lat, lng] = v.trim().split(/\s+/).map(Number);
    if (lat !== undefined && lng !== undefined && Number.isFinite(lat) && Number.isFinite(lng)) return [lat, lng];
  }
  return [null, null];
}

function attachmentsJson(inst: InstanceView, doc: KoboSubmissionJson, ctx: JsonContext): Record<string, unknown>[] {
  const xpaths = attachmentXpaths(doc, ctx.form.mediaPaths);
  const base = `${ctx.origin}/api/v2/assets/${ctx.assetUid}/data/${inst.id}/attachments`;
  const query = ctx.format === undefined ? "" : `?format=${encodeURIComponent(ctx.format)}`;
  return inst.attachments
    .filter((a) => !a.deleted)
    .map((a) => {
      const json: Record<string, unknown> = {
        download_url: `${base}/${a.uid}/${query}`,
        mimetype: a.mimetype,
        filename: `${ctx.owner}/attachments/${ctx.formhubUuid}/${inst.rootUuid}/${a.basename}`,
        media_file_basename: a.basename,
        uid: a.uid,
        is_deleted: false,
      };
      if (a.mimetype.startsWith("image/")) {
        for (const s of THUMB_SUFFIXES) json[`download_${s}_url`] = `${base}/${a.uid}/${s}/${query}`;
      }
      json["question_xpath"] = xpaths.get(a.basename) ?? "";
      return json;
    });
}

/** File name → the question holding it, with 1-based indexes on enclosing repeats ("members[2]/photo"). */
function attachmentXpaths(doc: Readonly<Record<string, unknown>>, mediaPaths: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: Readonly<Record<string, unknown>>, indexes: ReadonlyMap<string, number>): void => {
    for (const [key, value] of Object.entries(d)) {
      if (Array.isArray(value)) {
        value.forEach((item: unknown, i) => {
          if (typeof item === "object" && item !== null) walk(item as Record<string, unknown>, new Map([...indexes, [key, i + 1]]));
        });
      } else if (typeof value === "string" && mediaPaths.has(key)) out.set(value, indexedPath(key, indexes));
    }
  };
  walk(doc, new Map());
  return out;
}

function indexedPath(path: string, indexes: ReadonlyMap<string, number>): string {
  const steps = path.split("/");
  return steps.map((step, i) => {
    const index = indexes.get(steps.slice(0, i + 1).join("/"));
    return index === undefined ? step : `${step}[${index}]`;
  }).join("/");
}
