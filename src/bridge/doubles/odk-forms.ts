/**
 * XForm → the flat field list ODK Central stores for a form version (its
 * `/fields` resource): depth-first over the primary instance, paths without
 * the root element and without namespace prefixes, the type from the `bind`
 * whose nodeset matches, `structure` for a bound-less element with children,
 * `repeat` for a `<repeat nodeset>` in the body, `selectMultiple` for a
 * `<select>` control and `binary` for binary binds and meta/audit.
 * Re-implemented from central-backend lib/data/schema.js (getFormFields).
 */
import { createHash } from "node:crypto";
import { childElements, parseXml, textOf, XmlError, type XmlElement } from "../xml.js";
import { problems } from "./odk-problems.js";

/** One entry of a form version's schema. `order` is the depth-first position. */
export interface OdkField {
  readonly path: string;
  readonly name: string;
  readonly type: string;
  readonly order: number;
  readonly binary: boolean;
  readonly selectMultiple: boolean;
}

/** A parsed XForm: what Central keeps of a published form version. */
export interface OdkFormDefinition {
  readonly xmlFormId: string;
  /** The root `version` attribute, '' when absent (as Central stores it). */
  readonly version: string;
  /** `<h:title>`, or null. */
  readonly name: string | null;
  readonly xml: string;
  readonly fields: readonly OdkField[];
  /** The primary instance's root element: the template submissions are built from. */
  readonly instance: XmlElement;
  readonly hash: string;
  readonly sha: string;
  readonly sha256: string;
}

/** Removes `prefix:` from every step of a path ("orx:meta/orx:instanceID" → "meta/instanceID"). */
export function stripNamespaces(path: string): string {
  return path.replace(/(^|\/)[^:/]+:([^/]+)/g, "$1$2");
}

/** OData identifier rules: a leading non-letter gets "_", every run of other characters becomes "_". */
export function sanitizeOdataIdentifier(name: string): string {
  return name.replace(/^([^a-z_])/i, "_$1").replace(/([^a-z0-9_]+)/gi, "_");
}

/** True for groups and repeats. */
export function isStructural(field: OdkField): boolean {
  return field.type === "repeat" || field.type === "structure";
}

/** The direct children of the field at `of` ('' for the root), in form order. */
export function childFields(fields: readonly OdkField[], of: string): OdkField[] {
  return fields.filter((f) => f.path.startsWith(`${of}/`) && f.path.length === of.length + 1 + f.name.length);
}

const local = (name: string): string => stripNamespaces(name);

function findChild(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el === undefined ? undefined : childElements(el).find((c) => local(c.name) === name);
}

function descendants(el: XmlElement | undefined, name: string, out: XmlElement[] = []): XmlElement[] {
  if (el === undefined) return out;
  for (const c of childElements(el)) {
    if (local(c.name) === name) out.push(c);
    descendants(c, name, out);
  }
  return out;
}

function attr(el: XmlElement, name: string): string | undefined {
  const key = Object.keys(el.attrs).find((k) => local(k) === name);
  return key === undefined ? undefined : el.attrs[key];
}

/** Parses an uploaded XML document; 400.1 when it is not well-formed. */
export function parseXmlBody(xml: string): XmlElement {
  try {
    return parseXml(xml);
  } catch (e) {
    if (e instanceof XmlError) throw problems.unparseable("xml", xml.length);
    throw e;
  }
}

/** Parses and checks an XForm; throws OdkProblem 400.x for what Central rejects. */
export function parseXForm(xml: string): OdkFormDefinition {
  const html = parseXmlBody(xml);
  const head = local(html.name) === "html" ? findChild(html, "head") : undefined;
  const model = findChild(head, "model");
  const instanceWrapper = findChild(model, "instance");
  const instance = instanceWrapper === undefined ? undefined : childElements(instanceWrapper)[0];
  const xmlFormId = instance === undefined ? undefined : attr(instance, "id");
  if (model === undefined || instance === undefined || xmlFormId === undefined || xmlFormId.trim() === "") {
    throw problems.missingParameter("formId");
  }
  const title = findChild(head, "title");
  const body = findChild(html, "body");
  const binds = childElements(model).filter((b) => local(b.name) === "bind" && attr(b, "type") !== undefined);
  const repeats = new Set(descendants(body, "repeat").map((r) => stripNamespaces(attr(r, "nodeset") ?? "")));
  const selects = new Set(descendants(body, "select").map((s) => attr(s, "nodeset") ?? attr(s, "ref") ?? ""));
  const fields: OdkField[] = [];
  collectFields(instance, { envelope: instance.name, binds, repeats, selects }, [], fields);
  return {
    xmlFormId,
    version: attr(instance, "version") ?? "",
    name: title === undefined ? null : textOf(title),
    xml,
    fields,
    instance,
    hash: digest("md5", xml),
    sha: digest("sha1", xml),
    sha256: digest("sha256", xml),
  };
}

interface SchemaContext {
  readonly envelope: string;
  readonly binds: readonly XmlElement[];
  readonly repeats: ReadonlySet<string>;
  readonly selects: ReadonlySet<string>;
}

function collectFields(el: XmlElement, ctx: SchemaContext, base: string[], out: OdkField[]): void {
  const seenRepeats = new Set<string>();
  for (const tag of childElements(el)) {
    const steps = [...base, tag.name];
    const joined = `/${steps.join("/")}`;
    const bindingPath = `/${ctx.envelope}${joined}`;
    const path = stripNamespaces(joined);
    let type: string;
    if (ctx.repeats.has(bindingPath)) {
      if (seenRepeats.has(bindingPath)) continue; // the jr:template and its instances share one field
      seenRepeats.add(bindingPath);
      type = "repeat";
    } else {
      type = bindType(tag, ctx, bindingPath);
    }
    out.push({
      path,
      name: stripNamespaces(tag.name),
      type,
      order: out.length,
      binary: type === "binary" || path === "/meta/audit",
      selectMultiple: ctx.selects.has(bindingPath),
    });
    if (type === "repeat" || type === "structure") collectFields(tag, ctx, steps, out);
  }
}

function bindType(tag: XmlElement, ctx: SchemaContext, bindingPath: string): string {
  const absolute = (nodeset: string): string => (nodeset.startsWith("/") ? nodeset : `/${ctx.envelope}/${nodeset}`);
  const bind = ctx.binds.find((b) => absolute(attr(b, "nodeset") ?? "") === bindingPath);
  if (bind !== undefined) return attr(bind, "type") || "unknown";
  if (childElements(tag).length > 0) return "structure";
  return "unknown";
}

function digest(algorithm: string, text: string): string {
  return createHash(algorithm).update(text, "utf8").digest("hex");
}

/** The `/fields` JSON: `?odata=true` sanitises names and every path step. Unset flags are null, as Central's boolean columns. */
export function fieldsForApi(fields: readonly OdkField[], odata: boolean): Record<string, unknown>[] {
  return fields.map((f) => ({
    path: odata ? f.path.split("/").map((s) => (s === "" ? s : sanitizeOdataIdentifier(s))).join("/") : f.path,
    name: odata ? sanitizeOdataIdentifier(f.name) : f.name,
    type: f.type,
    binary: f.binary ? true : null,
    selectMultiple: f.selectMultiple ? true : null,
  }));
}
