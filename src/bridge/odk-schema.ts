/**
 * The FormSchema of an ODK Central form, from the form's JSON, its `/fields`
 * lists (depth-first over the primary instance, paths without the root
 * element) and its XForm XML. Central's `/fields` types come from the bind
 * nodes, which say "string" for single selects, so select_one is read from
 * the XForm body's `<select1>` controls; `selectMultiple` comes from Central.
 */
import { z } from "zod";
import { SchemaError, isEnvelopePath, walkSchema, type FieldType, type FormSchema, type SchemaNode } from "./form-schema.js";
import { XmlError, childElements, parseXml, textOf, type XmlElement } from "./xml.js";

const CentralForm = z.object({
  xmlFormId: z.string().min(1),
  name: z.string().nullish(),
});

const CentralFields = z.array(
  z.object({
    path: z.string().startsWith("/"),
    name: z.string(),
    type: z.string(),
    binary: z.boolean().nullish(),
    selectMultiple: z.boolean().nullish(),
  }),
);
type CentralField = z.infer<typeof CentralFields>[number];

/** Bind types (after any "xsd:" prefix) that are not plain strings. "select1"/"select" are older pyxform's bind types. */
const FIELD_TYPES: Readonly<Record<string, FieldType>> = {
  int: "int",
  integer: "int",
  decimal: "decimal",
  boolean: "boolean",
  date: "date",
  dateTime: "dateTime",
  time: "time",
  geopoint: "geopoint",
  geotrace: "geotrace",
  geoshape: "geoshape",
  binary: "binary",
  select1: "select_one",
  select: "select_multiple",
};

/** Central's `sanitizeOdataIdentifier` (lib/util/util.js): how a name appears in OData. */
export function sanitizeOdataName(name: string): string {
  return name.replace(/^([^a-z_])/i, "_$1").replace(/([^a-z0-9_]+)/gi, "_");
}

const sanitizePath = (path: string): string => path.split("/").map(sanitizeOdataName).join("/");
const localName = (name: string): string => name.slice(name.indexOf(":") + 1);
const childNamed = (el: XmlElement | undefined, name: string): XmlElement | undefined =>
  el && childElements(el).find((c) => localName(c.name) === name);

/** The primary instance's root: the first element of the first `<instance>` without an id in `<model>`. */
function primaryInstance(html: XmlElement): XmlElement | undefined {
  const model = childNamed(childNamed(html, "head"), "model");
  const instance = model && childElements(model).find((c) => localName(c.name) === "instance" && c.attrs.id === undefined);
  return instance && childElements(instance)[0];
}

/** A body ref as a path below the root ("hh/size"), resolved against the enclosing group's path; undefined if outside the root. */
function resolveRef(ref: string, context: string, rootName: string): string | undefined {
  const absolute = ref.startsWith("/");
  const steps = ref.trim().split("/").map(localName);
  if (absolute && steps[1] !== localName(rootName)) return undefined;
  const out = absolute ? [] : context.split("/").filter((s) => s !== "");
  for (const step of absolute ? steps.slice(2) : steps) {
    if (step === "..") out.pop();
    else if (step !== "." && step !== "") out.push(step);
  }
  return out.join("/");
}

/** A select control of the XForm body: single or multiple, and its choice names when the form lists them. */
interface SelectControl {
  readonly single: boolean;
  readonly choices?: readonly string[];
}

/** A secondary instance's items: `instance('id')/root/item` with `<value ref="name"/>`, as pyxform writes itemsets. */
function itemsetChoices(model: XmlElement | undefined, itemset: XmlElement): string[] | undefined {
  const m = /^\s*instance\(\s*'([^']+)'\s*\)\/[^/[\s]+\/([^/[\s]+)\s*$/.exec(itemset.attrs.nodeset ?? "");
  const valueRef = childNamed(itemset, "value")?.attrs.ref;
  if (!m || !model || !valueRef || valueRef.includes("/")) return undefined;
  const instance = childElements(model).find((c) => localName(c.name) === "instance" && c.attrs.id === m[1]);
  const root = instance && childElements(instance)[0];
  if (!root) return undefined;
  const names = childElements(root)
    .filter((item) => localName(item.name) === m[2])
    .map((item) => childNamed(item, valueRef))
    .map((v) => (v ? textOf(v).trim() : ""));
  return names.every((n) => n !== "") ? [...new Set(names)] : undefined;
}

/** The choice names of a select control: its inline `<item>`s, or the secondary instance its itemset reads. */
function controlChoices(model: XmlElement | undefined, control: XmlElement): readonly string[] | undefined {
  const itemset = childNamed(control, "itemset");
  if (itemset) return itemsetChoices(model, itemset);
  const names = childElements(control)
    .filter((c) => localName(c.name) === "item")
    .map((item) => childNamed(item, "value"))
    .map((v) => (v ? textOf(v).trim() : ""));
  return names.length > 0 && names.every((n) => n !== "") ? [...new Set(names)] : undefined;
}

/** The select controls anywhere in the body, by the path of the field they answer. */
function selectControls(html: XmlElement, body: XmlElement | undefined, rootName: string): Map<string, SelectControl> {
  const model = childNamed(childNamed(html, "head"), "model");
  const out = new Map<string, SelectControl>();
  const visit = (el: XmlElement, context: string): void => {
    for (const c of childElements(el)) {
      const kind = localName(c.name);
      const ref = c.attrs.ref ?? c.attrs.nodeset;
      const path = ref === undefined ? undefined : resolveRef(ref, context, rootName);
      if ((kind === "select1" || kind === "select") && path !== undefined) {
        const choices = controlChoices(model, c);
        out.set(path, { single: kind === "select1", ...(choices ? { choices } : {}) });
      }
      visit(c, (kind === "group" || kind === "repeat") && path !== undefined ? path : context);
    }
  };
  if (body) visit(body, "");
  return out;
}

function fieldType(f: CentralField, isSelectOne: boolean): FieldType {
  if (f.selectMultiple === true) return "select_multiple";
  if (isSelectOne) return "select_one";
  if (f.binary === true) return "binary";
  return FIELD_TYPES[f.type.replace(/^xsd:/, "")] ?? "string";
}

function nodesFromFields(formId: string, fields: readonly CentralField[], selects: ReadonlyMap<string, SelectControl>): SchemaNode[] | SchemaError {
  const top: SchemaNode[] = [];
  const containers = new Map<string, SchemaNode[]>([["", top]]);
  for (const f of fields) {
    const path = f.path.slice(1);
    if (isEnvelopePath(path)) continue;
    const cut = path.lastIndexOf("/");
    const name = path.slice(cut + 1);
    const siblings = containers.get(cut < 0 ? "" : path.slice(0, cut));
    if (!siblings) return new SchemaError(`ODK form ${formId}: /fields lists ${f.path} without its parent group before it`);
    if (f.type === "structure" || f.type === "repeat") {
      const children: SchemaNode[] = [];
      containers.set(path, children);
      siblings.push({ kind: f.type === "repeat" ? "repeat" : "group", name, path, children });
    } else {
      const select = selects.get(path);
      const type = fieldType(f, select?.single === true);
      const choices = (type === "select_one" || type === "select_multiple") && select?.choices;
      siblings.push({ kind: "field", name, path, type, ...(choices ? { choices } : {}) });
    }
  }
  return top;
}

/** Parses the XForm and returns its primary instance root and body, or what is wrong with it. */
function readXForm(formId: string, xformXml: string): { html: XmlElement; root: XmlElement; body: XmlElement | undefined } | SchemaError {
  let html: XmlElement;
  try {
    html = parseXml(xformXml);
  } catch (e) {
    if (e instanceof XmlError) return new SchemaError(`ODK form ${formId}: the XForm is not well-formed XML: ${e.message}`);
    throw e;
  }
  const root = primaryInstance(html);
  if (!root) return new SchemaError(`ODK form ${formId}: the XForm has no primary <instance> in <h:head><model>`);
  if (root.attrs.id !== formId) return new SchemaError(`ODK form ${formId}: the XForm's instance id is '${root.attrs.id ?? ""}', not '${formId}'`);
  return { html, root, body: childNamed(html, "body") };
}

/**
 * The schema of an ODK Central form. `form` is `GET …/forms/{id}`, `fields`
 * and `odataFields` are `GET …/forms/{id}/fields?odata=false|true`, `xformXml`
 * is `GET …/forms/{id}.xml`. rootName and version come from the XForm's
 * primary instance (version "" when it has none, as Central reads it).
 * Returns a SchemaError, never throws, for responses of the wrong shape or
 * that disagree with each other.
 */
export function odkSchemaFromCentral(form: unknown, fields: unknown, odataFields: unknown, xformXml: string): FormSchema | SchemaError {
  const f = CentralForm.safeParse(form);
  if (!f.success) return SchemaError.fromIssues("the ODK Central form JSON", f.error.issues);
  const formId = f.data.xmlFormId;
  const list = CentralFields.safeParse(fields);
  if (!list.success) return SchemaError.fromIssues(`ODK form ${formId}: /fields`, list.error.issues);
  const odata = CentralFields.safeParse(odataFields);
  if (!odata.success) return SchemaError.fromIssues(`ODK form ${formId}: /fields?odata=true`, odata.error.issues);
  const mismatch = list.data.findIndex((x, i) => odata.data[i]?.path !== sanitizePath(x.path));
  if (mismatch >= 0 || odata.data.length !== list.data.length) {
    return new SchemaError(`ODK form ${formId}: /fields?odata=true does not list the same fields as /fields (from entry ${mismatch >= 0 ? mismatch : list.data.length})`);
  }
  const xform = readXForm(formId, xformXml);
  if (xform instanceof SchemaError) return xform;
  const nodes = nodesFromFields(formId, list.data, selectControls(xform.html, xform.body, xform.root.name));
  if (nodes instanceof SchemaError) return nodes;
  return { server: "odk", formId, title: f.data.name || formId, rootName: xform.root.name, version: xform.root.attrs.version ?? "", nodes };
}

/**
 * Each schema node's OData property name (groups, repeats and fields alike),
 * keyed by node path, from `/fields?odata=true`. A SchemaError if that list
 * is malformed or lacks a node of the schema (it belongs to another form or
 * version); never for the list odkSchemaFromCentral accepted with this schema.
 */
export function odataNames(schema: FormSchema, odataFields: unknown): Map<string, string> | SchemaError {
  const odata = CentralFields.safeParse(odataFields);
  if (!odata.success) return SchemaError.fromIssues(`ODK form ${schema.formId}: /fields?odata=true`, odata.error.issues);
  const byPath = new Map(odata.data.map((x) => [x.path.slice(1), x.name]));
  const out = new Map<string, string>();
  for (const node of walkSchema(schema.nodes)) {
    const name = byPath.get(sanitizePath(node.path));
    if (name === undefined) return new SchemaError(`ODK form ${schema.formId}: /fields?odata=true has no entry for ${node.path}`);
    out.set(node.path, name);
  }
  return out;
}
