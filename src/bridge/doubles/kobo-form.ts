/**
 * The Kobo double's view of a form: the instance tree read from a kpi asset's
 * `content.survey` (flat rows with begin/end markers), and the XML a real
 * client (KoboCollect, Enketo) would send for a set of answers.
 */
import { z } from "zod";
import { element, serializeXml, type XmlElement } from "../xml.js";

/** One node of a form's instance: a question, a group or a repeat, with its '/'-joined path below the root. */
export type KoboFormNode =
  | { readonly kind: "field"; readonly name: string; readonly path: string; readonly type: string }
  | { readonly kind: "group" | "repeat"; readonly name: string; readonly path: string; readonly children: readonly KoboFormNode[] };

/** A form's structure plus the path sets kpi derives from it. Paths never carry repeat indexes. */
export interface KoboForm {
  readonly nodes: readonly KoboFormNode[];
  /** Repeats: their instances become JSON arrays even when there is only one. */
  readonly repeatPaths: ReadonlySet<string>;
  /** Geopoints outside repeats, in form order; the first answered one gives `_geolocation`. */
  readonly geopointPaths: readonly string[];
  /** Upload questions; an attachment is listed only while one of them names its file. */
  readonly mediaPaths: ReadonlySet<string>;
}

/** Thrown when the double is misused (bad asset content, answers that do not fit the form). */
export class KoboDoubleError extends Error {
  override readonly name = "KoboDoubleError";
}

const MEDIA_TYPES = new Set(["image", "audio", "video", "file"]);
/** Question types a client fills in by itself when the enumerator does not. */
const AUTO_TIMESTAMP_TYPES = new Set(["start", "end"]);
/** Envelope nodes the builder writes itself; a survey row of that name is skipped. */
const ENVELOPE_NAMES = new Set(["formhub", "meta", "__version__"]);

const SurveyRow = z.object({ type: z.string(), name: z.string().optional(), $autoname: z.string().optional() });
const AssetContent = z.object({ survey: z.array(SurveyRow) });

interface OpenContainer {
  kind: "group" | "repeat";
  name: string;
  path: string;
  children: KoboFormNode[];
}

/** Reads `content.survey`. Throws KoboDoubleError if the content is not a kpi survey. */
export function readKoboForm(content: unknown, assetUid: string): KoboForm {
  const parsed = AssetContent.safeParse(content);
  if (!parsed.success) throw new KoboDoubleError(`asset ${assetUid}: content.survey is not a list of rows with a type`);
  const root: OpenContainer = { kind: "group", name: "", path: "", children: [] };
  const stack: OpenContainer[] = [root];
  for (const row of parsed.data.survey) {
    const top = stack[stack.length - 1]!;
    const type = row.type.replace(" ", "_");
    if (type === "end_group" || type === "end_repeat") {
      if (stack.length === 1) throw new KoboDoubleError(`asset ${assetUid}: ${type} without a matching begin`);
      stack.pop();
      continue;
    }
    const name = row.name ?? row.$autoname;
    if (name === undefined && type.startsWith("begin_")) throw new KoboDoubleError(`asset ${assetUid}: a ${type} row has no name`);
    if (name === undefined) continue;
    const path = top.path === "" ? name : `${top.path}/${name}`;
    if (type === "begin_group" || type === "begin_repeat") {
      const open: OpenContainer = { kind: type === "begin_group" ? "group" : "repeat", name, path, children: [] };
      top.children.push(open);
      stack.push(open);
    } else if (!(stack.length === 1 && ENVELOPE_NAMES.has(name))) {
      top.children.push({ kind: "field", name, path, type });
    }
  }
  return deriveForm(root.children);
}

function deriveForm(nodes: readonly KoboFormNode[]): KoboForm {
  const repeatPaths = new Set<string>();
  const geopointPaths: string[] = [];
  const mediaPaths = new Set<string>();
  const visit = (list: readonly KoboFormNode[], inRepeat: boolean): void => {
    for (const n of list) {
      if (n.kind !== "field") {
        if (n.kind === "repeat") repeatPaths.add(n.path);
        visit(n.children, inRepeat || n.kind === "repeat");
      } else if (n.type === "geopoint" && !inRepeat) geopointPaths.push(n.path);
      else if (MEDIA_TYPES.has(n.type)) mediaPaths.add(n.path);
    }
  };
  visit(nodes, false);
  return { nodes, repeatPaths, geopointPaths, mediaPaths };
}

/** What goes around the answers of a client-built instance. */
export interface InstanceEnvelope {
  readonly assetUid: string;
  /** The XForm `version` attribute, e.g. "1 (2026-11-21 08:00:00)". */
  readonly versionLabel: string;
  readonly formhubUuid: string;
  readonly versionId: string;
  readonly instanceId: string;
  readonly deprecatedId?: string;
  readonly rootUuid?: string;
  /** Fills unanswered start/end questions, as Collect and Enketo do. */
  readonly now: Date;
}

/**
 * Builds the instance XML a client sends: answers in form order (groups
 * nested, repeat instances as repeated siblings, unanswered questions as empty
 * elements), then `__version__` and `meta`. `answers` maps full paths to
 * values; a repeat's path maps to an array of objects keyed by full paths.
 * Throws KoboDoubleError on an answer the form has no question for.
 */
export function buildInstanceXml(form: KoboForm, answers: Readonly<Record<string, unknown>>, env: InstanceEnvelope): string {
  const children: XmlElement[] = [element("formhub", [element("uuid", [env.formhubUuid])])];
  children.push(...buildScope(form.nodes, answers, env, ""));
  children.push(element("__version__", [env.versionId]));
  const meta = [element("instanceID", [env.instanceId])];
  if (env.deprecatedId !== undefined) meta.push(element("deprecatedID", [env.deprecatedId]));
  if (env.rootUuid !== undefined) meta.push(element("rootUuid", [env.rootUuid]));
  children.push(element("meta", meta));
  return serializeXml(element(env.assetUid, children, { id: env.assetUid, version: env.versionLabel }));
}

/** Builds the elements for one scope (the whole form, or one repeat instance) and rejects keys no question uses. */
function buildScope(nodes: readonly KoboFormNode[], scope: Readonly<Record<string, unknown>>, env: InstanceEnvelope, where: string): XmlElement[] {
  const used = new Set<string>();
  const out = buildNodes(nodes, scope, used, env);
  for (const key of Object.keys(scope)) {
    if (!used.has(key)) throw new KoboDoubleError(`answer "${key}"${where} is not a question of form ${env.assetUid}`);
  }
  return out;
}

function buildNodes(nodes: readonly KoboFormNode[], scope: Readonly<Record<string, unknown>>, used: Set<string>, env: InstanceEnvelope): XmlElement[] {
  const out: XmlElement[] = [];
  for (const node of nodes) {
    const value = scope[node.path];
    if (node.kind === "field") {
      used.add(node.path);
      const text = value === undefined && AUTO_TIMESTAMP_TYPES.has(node.type) ? clientTimestamp(env.now) : answerText(node.path, value);
      out.push(element(node.name, text === "" ? [] : [text]));
    } else if (node.kind === "group") {
      out.push(element(node.name, buildNodes(node.children, scope, used, env)));
    } else {
      used.add(node.path);
      repeatItems(node.path, value).forEach((item, i) => {
        out.push(element(node.name, buildScope(node.children, item, env, ` (in ${node.path}[${i + 1}])`)));
      });
    }
  }
  return out;
}

function repeatItems(path: string, value: unknown): readonly Readonly<Record<string, unknown>>[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every(isPlainObject)) {
    throw new KoboDoubleError(`answer "${path}" is a repeat: give an array of objects keyed by full paths`);
  }
  return value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function answerText(path: string, value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.join(" ");
  throw new KoboDoubleError(`answer "${path}" must be a string, number, boolean or list of choice names`);
}

/** Enketo's timestamp form: local time with milliseconds and an explicit offset (UTC here). */
function clientTimestamp(now: Date): string {
  return now.toISOString().replace("Z", "+00:00");
}
