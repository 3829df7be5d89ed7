/**
 * Whole submissions as flat maps of canonical answer values, keyed by
 * replicable path (see `replicableNodes`): each field outside repeats under
 * its full path, each top-level repeat as ONE value, an array with a CborMap
 * per instance. An instance map is keyed by paths relative to its repeat
 * ("age", "g/x" for a group inside it); a nested repeat is an array of such
 * maps inside. Absent answers are absent (never null), in maps and instances
 * alike, and a repeat without instances is absent: callers diff two maps.
 *
 * The same answers read from a Kobo JSON row, a Central OData row or the XML
 * give the same map (field-codec.ts makes the values agree).
 */
import type { CborMap, CborValue } from "../engine/cbor.js";
import { valueFromOData, valueFromText } from "./field-codec.js";
import type { FieldNode, FormSchema, GroupNode, RepeatNode, SchemaNode } from "./form-schema.js";
import { childElements, firstChild, textOf, type XmlElement } from "./xml.js";

export { buildSubmissionXml, setMeta, writeValuesToXml, type SubmissionMeta } from "./submission-xml.js";

/** A row the caller should have fetched differently (an OData row without `$expand=*`, names from another form). */
export class SubmissionRowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SubmissionRowError";
  }
}

/** One level of a submission (the root, a group, or a repeat instance) as a reader sees it. */
interface Level {
  /** The canonical value of a field at this level; null when absent or empty. */
  value(node: FieldNode): CborValue;
  group(node: GroupNode): Level | undefined;
  instances(node: RepeatNode): Level[];
}

type Put = (key: string, value: CborValue) => void;

function readNodes(nodes: readonly SchemaNode[], level: Level, prefix: string, put: Put): void {
  for (const n of nodes) {
    const key = prefix + n.name;
    if (n.kind === "field") {
      const v = level.value(n);
      if (v !== null) put(key, v);
    } else if (n.kind === "group") {
      const g = level.group(n);
      if (g) readNodes(n.children, g, `${key}/`, put);
    } else {
      const instances = level.instances(n);
      if (instances.length > 0) put(key, instances.map((l) => readInstance(n, l)));
    }
  }
}

function readInstance(repeat: RepeatNode, level: Level): CborMap {
  const out: CborMap = {};
  readNodes(repeat.children, level, "", (k, v) => {
    out[k] = v;
  });
  return out;
}

function readSubmission(schema: FormSchema, root: Level): Map<string, CborValue> {
  const out = new Map<string, CborValue>();
  // At the root, prefix-joined names are the nodes' full paths.
  readNodes(schema.nodes, root, "", (k, v) => out.set(k, v));
  return out;
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

function koboLevel(obj: Record<string, unknown>): Level {
  return {
    value: (n) => {
      const raw = obj[n.path];
      if (typeof raw === "string") return valueFromText(n.type, raw);
      return typeof raw === "number" || typeof raw === "boolean" ? valueFromOData(n.type, raw) : null;
    },
    // Kobo rows are flat: a group's answers sit beside the others under their full paths.
    group: () => koboLevel(obj),
    instances: (n) => {
      const list = obj[n.path];
      return Array.isArray(list) ? list.filter(isRecord).map(koboLevel) : [];
    },
  };
}

/**
 * Values of a KoboToolbox data API row (`GET /api/v2/assets/{uid}/data/`):
 * flat full-path keys with string values; a repeat is an array under its full
 * path whose elements are keyed by full paths too. Other keys (`_id`, meta/…) are ignored.
 */
export function valuesFromKoboJson(schema: FormSchema, row: Readonly<Record<string, unknown>>): Map<string, CborValue> {
  return readSubmission(schema, koboLevel(row));
}

function odataLevel(obj: Record<string, unknown>, names: ReadonlyMap<string, string>): Level {
  const prop = (n: SchemaNode): unknown => {
    const name = names.get(n.path);
    if (name === undefined) throw new SubmissionRowError(`no OData name for ${n.path}: build the names with odataNames() from this form's schema`);
    if (n.kind === "repeat" && obj[name] === undefined && obj[`${name}@odata.navigationLink`] !== undefined) {
      throw new SubmissionRowError(`the OData row has no inline ${name} rows: fetch Submissions with $expand=*`);
    }
    return obj[name];
  };
  return {
    value: (n) => valueFromOData(n.type, prop(n)),
    group: (n) => {
      const g = prop(n);
      return isRecord(g) ? odataLevel(g, names) : undefined;
    },
    instances: (n) => {
      const list = prop(n);
      return Array.isArray(list) ? list.filter(isRecord).map((x) => odataLevel(x, names)) : [];
    },
  };
}

/**
 * Values of an ODK Central OData row fetched with `$expand=*`: groups are
 * nested objects, repeats inline arrays (their `__id` is ignored), empty
 * answers null. `names` comes from `odataNames(schema, …)`.
 * @throws SubmissionRowError if `names` lacks a node or the row was not expanded (caller misuse).
 */
export function valuesFromOData(schema: FormSchema, names: ReadonlyMap<string, string>, row: Readonly<Record<string, unknown>>): Map<string, CborValue> {
  return readSubmission(schema, odataLevel(row, names));
}

function xmlLevel(el: XmlElement): Level {
  return {
    value: (n) => {
      const c = firstChild(el, n.name);
      return c ? valueFromText(n.type, textOf(c)) : null;
    },
    group: (n) => {
      const c = firstChild(el, n.name);
      return c && xmlLevel(c);
    },
    // A `jr:template` copy is part of a form definition, never an answer.
    instances: (n) => childElements(el, n.name).filter((c) => c.attrs["jr:template"] === undefined).map(xmlLevel),
  };
}

/** Values of a submission XML (the root element, named after the form's root). */
export function valuesFromXml(schema: FormSchema, root: XmlElement): Map<string, CborValue> {
  return readSubmission(schema, xmlLevel(root));
}
