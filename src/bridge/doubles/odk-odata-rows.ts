/**
 * One submission → its OData rows, as ODK Central renders them
 * (re-implemented from central-backend lib/data/odata.js,
 * submissionToOData): every known field starts as null (groups as nested
 * objects, repeats absent), answers are typed by the field's bind type,
 * unknown elements are ignored, repeats become `<name>@odata.navigationLink`
 * (inline arrays with `$expand=*`), and each repeat instance gets a stable
 * `__id`: the SHA-1 of its position in the tree.
 */
import { createHash } from "node:crypto";
import { childElements, parseXml, textOf, type XmlElement } from "../xml.js";
import { childFields, isStructural, sanitizeOdataIdentifier, stripNamespaces, type OdkField } from "./odk-forms.js";

/** A JSON object of a rendered row. */
export type ODataRow = Record<string, unknown>;

/** What `$wkt`, `$expand` and `$select` change in rendering. */
export interface RenderOptions {
  readonly wkt: boolean;
  readonly expand: boolean;
  /** `$select`'s `__…` properties; null without `$select` (everything is shown). */
  readonly metadata: ReadonlySet<string> | null;
}

/** The `__system` object of a root row, in Central's key order. */
export interface SystemProperties {
  submissionDate: string;
  updatedAt: string | null;
  submitterId: string | null;
  submitterName: string | null;
  attachmentsPresent: number;
  attachmentsExpected: number;
  status: null;
  reviewState: string | null;
  deviceId: string | null;
  edits: number;
  formVersion: string;
  deletedAt: string | null;
}

/** A submission as the renderer needs it: logical id, current XML, metadata. */
export interface RenderInput {
  readonly instanceId: string;
  readonly xml: string;
  readonly system: SystemProperties;
}

/** One step from the submission root down to a group or repeat instance. */
export interface Frame {
  readonly field: OdkField;
  /** Which instance of this repeat we are in (0-based); unused for groups. */
  readonly iteration: number;
}

/** Central's child-row id: SHA-1 over "Submissions#<id>" and "<name>#<iteration>" per step ("<name>#" for groups), joined by "%%". */
export function repeatRowId(instanceId: string, stack: readonly Frame[]): string {
  if (stack.length === 0) return instanceId;
  const parts = [`Submissions#${instanceId}`];
  for (const f of stack) parts.push(f.field.type === "structure" ? `${f.field.name}#` : `${f.field.name}#${f.iteration}`);
  return createHash("sha1").update(parts.join("%%")).digest("hex");
}

/** "Submissions('uuid%3A…')/members", with the ids of enclosing repeat instances ("…/outer('<hash>')/inner"). */
export function navigationLink(instanceId: string, stack: readonly Frame[]): string {
  const out = [`Submissions('${encodeURIComponent(instanceId)}')`];
  stack.forEach((f, i) => {
    const name = sanitizeOdataIdentifier(f.field.name);
    out.push(f.field.type === "repeat" && i < stack.length - 1 ? `${name}('${repeatRowId(instanceId, stack.slice(0, i + 1))}')` : name);
  });
  return out.join("/");
}

/** Where a field's table sits relative to the requested one: -1 outside, 0 at it, 1 inside it (a plain string prefix test, as Central's). */
function branchState(stack: readonly Frame[], table: string): -1 | 0 | 1 {
  const implied = ["Submissions", ...stack.map((f) => sanitizeOdataIdentifier(f.field.name))].join(".");
  if (implied === table) return 0;
  return implied.startsWith(table) ? 1 : -1;
}

/** A fresh object for a level: null for each answer, nested objects for groups, nothing for repeats. */
function emptyFrame(fields: readonly OdkField[], of: string): ODataRow {
  const frame: ODataRow = {};
  for (const f of childFields(fields, of)) {
    if (!isStructural(f)) frame[sanitizeOdataIdentifier(f.name)] = null;
    else if (f.type === "structure") frame[sanitizeOdataIdentifier(f.name)] = emptyFrame(fields, f.path);
  }
  return frame;
}

/** Renders the rows of `table` ("Submissions" or "Submissions.<repeat>…") found in one submission, in document order. */
export function renderSubmission(fields: readonly OdkField[], table: string, input: RenderInput, options: RenderOptions): ODataRow[] {
  const root: ODataRow = { ...emptyFrame(fields, ""), __id: input.instanceId };
  const result: ODataRow[] = [];
  if (table === "Submissions") {
    const system = selectSystem(input.system, options.metadata);
    if (system !== undefined) root.__system = system;
    result.push(root);
  }
  const walker = new Walker(fields, table, input.instanceId, options, result);
  walker.walk(parseXml(input.xml), "", [], root, new Map());
  return result;
}

function selectSystem(system: SystemProperties, metadata: ReadonlySet<string> | null): Partial<SystemProperties> | undefined {
  if (metadata === null || metadata.has("__system")) return system;
  const picked = Object.entries(system).filter(([k]) => metadata.has(`__system/${k}`));
  return picked.length === 0 ? undefined : Object.fromEntries(picked);
}

class Walker {
  private readonly byPath: Map<string, OdkField>;

  constructor(
    private readonly fields: readonly OdkField[],
    private readonly table: string,
    private readonly instanceId: string,
    private readonly options: RenderOptions,
    private readonly result: ODataRow[],
  ) {
    this.byPath = new Map(fields.map((f) => [f.path, f]));
  }

  /** `counters` counts instances of each repeat directly under this level. */
  walk(el: XmlElement, path: string, stack: Frame[], data: ODataRow | null, counters: Map<string, number>): void {
    for (const c of childElements(el)) {
      const cpath = `${path}/${stripNamespaces(c.name)}`;
      const field = this.byPath.get(cpath);
      if (field === undefined) continue; // unknown elements (and all below them) are not rendered
      if (field.type === "structure") {
        const inner = data === null ? null : (data[sanitizeOdataIdentifier(field.name)] as ODataRow | undefined) ?? null;
        this.walk(c, cpath, [...stack, { field, iteration: 0 }], inner, counters);
      } else if (field.type === "repeat") {
        const iteration = (counters.get(cpath) ?? -1) + 1;
        counters.set(cpath, iteration);
        this.repeat(c, field, [...stack, { field, iteration }], data);
      } else if (data !== null && branchState([...stack, { field, iteration: 0 }], this.table) === 1) {
        const text = textOf(c);
        if (text === "") continue; // no text event: the answer stays null
        const value = typedValue(field.type, text, this.options.wkt);
        if (value !== undefined) data[sanitizeOdataIdentifier(field.name)] = value;
      }
    }
  }

  private repeat(el: XmlElement, field: OdkField, stack: Frame[], data: ODataRow | null): void {
    if (data === null) return;
    const out = sanitizeOdataIdentifier(field.name);
    data[`${out}@odata.navigationLink`] = navigationLink(this.instanceId, stack);
    const state = branchState(stack, this.table);
    if (state === 1 && !this.options.expand) return;
    const rows = (data[out] as ODataRow[] | undefined) ?? [];
    data[out] = rows;
    const bag: ODataRow = { ...emptyFrame(this.fields, field.path), __id: repeatRowId(this.instanceId, stack) };
    rows.push(bag);
    if (state === 0) {
      this.result.push(bag);
      const parent = parentRepeat(stack);
      const key = ["Submissions", ...parent.map((f) => sanitizeOdataIdentifier(f.field.name))].join("-");
      bag[`__${key}-id`] = repeatRowId(this.instanceId, parent);
    }
    this.walk(el, field.path, stack, bag, new Map());
  }
}

/** The stack up to the nearest enclosing repeat (empty when the repeat hangs off the submission). */
function parentRepeat(stack: readonly Frame[]): Frame[] {
  for (let i = stack.length - 2; i >= 0; i -= 1) if (stack[i]?.field.type === "repeat") return stack.slice(0, i + 1);
  return [];
}

/**
 * An answer's JSON value by bind type: int → parseInt, decimal → parseFloat
 * (NaN serialises as null), geopoint → GeoJSON Point or WKT, geotrace /
 * geoshape → LineString / Polygon, dateTime → trimmed with "+07" made
 * "+07:00", everything else (string, date, time, boolean, select, binary…)
 * → the raw text. undefined means "leave it null".
 */
export function typedValue(type: string, text: string, wkt: boolean): unknown {
  switch (type) {
    case "int":
      return parseInt(text, 10);
    case "decimal":
      return parseFloat(text);
    case "geopoint":
      return geopoint(text, wkt);
    case "geotrace":
    case "geoshape":
      return geoPath(type, text, wkt);
    case "dateTime": {
      const t = text.trim();
      return /[+-]\d\d$/.test(t) ? `${t}:00` : t;
    }
    default:
      return text;
  }
}

const numbers = (s: string): (number | undefined)[] => s.split(/\s+/g).map((x) => parseFloat(x));

function geopoint(text: string, wkt: boolean): unknown {
  const [lat, lon, altitude, accuracy] = numbers(text);
  if (lat === undefined || lon === undefined || Number.isNaN(lat) || Number.isNaN(lon)) return undefined;
  const coordinates = [lon, lat];
  if (altitude !== undefined && !Number.isNaN(altitude)) coordinates.push(altitude);
  if (wkt) return `POINT (${coordinates.join(" ")})`;
  return accuracy === undefined || Number.isNaN(accuracy)
    ? { type: "Point", coordinates }
    : { type: "Point", coordinates, properties: { accuracy } };
}

function geoPath(type: "geotrace" | "geoshape", text: string, wkt: boolean): unknown {
  const pointStrs = text.split(/; ?/);
  const coordinates: (number | undefined)[][] = [];
  const accuracies: (number | null)[] = [];
  for (const str of pointStrs) {
    const [lat, lon, altitude, accuracy] = numbers(str);
    if ((lat === undefined || lon === undefined) && pointStrs.length === 1) return undefined;
    if (Number.isNaN(lat) || Number.isNaN(lon)) continue; // a trailing ";"
    const point = [lon, lat];
    if (altitude !== undefined && !Number.isNaN(altitude)) point.push(altitude);
    coordinates.push(point);
    accuracies.push(accuracy || null); // sic: an accuracy of 0 shows as null
  }
  if (wkt) {
    const points = coordinates.map((p) => p.join(" ")).join(",");
    return type === "geotrace" ? `LINESTRING (${points})` : `POLYGON ((${points}))`;
  }
  const geo: Record<string, unknown> = type === "geotrace" ? { type: "LineString", coordinates } : { type: "Polygon", coordinates: [coordinates] };
  if (accuracies.some((a) => a !== null)) geo.properties = { accuracies };
  return geo;
}
