/**
 * The FormSchema of a KoboToolbox form, read from its asset detail JSON
 * (`GET /api/v2/assets/{uid}/`): `content.survey` is a flat list of rows
 * with begin/end markers for groups and repeats, which this turns into the
 * node tree. Kobo deploys the XForm with the asset uid as root element and
 * id_string, so rootName = formId = uid.
 */
import { z } from "zod";
import { SchemaError, isEnvelopePath, type FieldType, type FormSchema, type SchemaNode } from "./form-schema.js";

const SurveyRow = z.object({
  type: z.string(),
  name: z.string().nullish(),
  $autoname: z.string().nullish(),
  select_from_list_name: z.string().nullish(),
});
type SurveyRow = z.infer<typeof SurveyRow>;

const ChoiceRow = z.object({
  list_name: z.string().nullish(),
  name: z.string().nullish(),
  $autovalue: z.string().nullish(),
});

const Asset = z.object({
  uid: z.string().min(1),
  name: z.string().nullish(),
  has_deployment: z.boolean().optional(),
  deployment__uuid: z.string().nullish(),
  deployed_version_id: z.string().nullish(),
  content: z.object({ survey: z.array(SurveyRow), choices: z.array(ChoiceRow).nullish() }),
});

/** XLSForm types whose answers are not plain strings; every other type with a name is read as a string. */
const FIELD_TYPES: Readonly<Record<string, FieldType>> = {
  integer: "int",
  int: "int",
  decimal: "decimal",
  range: "decimal",
  select_one: "select_one",
  select_one_from_file: "select_one",
  select_one_external: "select_one",
  select_multiple: "select_multiple",
  select_multiple_from_file: "select_multiple",
  date: "date",
  today: "date",
  datetime: "dateTime",
  dateTime: "dateTime",
  start: "dateTime",
  end: "dateTime",
  time: "time",
  geopoint: "geopoint",
  "start-geopoint": "geopoint",
  "background-geopoint": "geopoint",
  geotrace: "geotrace",
  geoshape: "geoshape",
  image: "binary",
  audio: "binary",
  video: "binary",
  file: "binary",
  "background-audio": "binary",
};

/**
 * Rows that put no answer element in the submission: notes, external
 * secondary instances, and the audit log (which lives in meta/, the envelope).
 */
const NO_ANSWER_TYPES = new Set(["note", "audit", "xml-external", "csv-external"]);

/** Select types whose choices are in the form's own choices sheet (not a CSV or an external instance). */
const LISTED_SELECTS = new Set(["select_one", "select_multiple"]);

/** Choice names per list, in sheet order (a duplicated name, which XLSForm refuses, is kept once). */
type ChoiceLists = ReadonlyMap<string, readonly string[]>;

function choiceLists(rows: readonly z.infer<typeof ChoiceRow>[]): ChoiceLists {
  const out = new Map<string, string[]>();
  for (const r of rows) {
    const name = r.name || r.$autovalue;
    if (!r.list_name || !name) continue;
    const list = out.get(r.list_name) ?? [];
    if (!list.includes(name)) list.push(name);
    out.set(r.list_name, list);
  }
  return out;
}

/** The choice names a select row answers from, if the form lists them. */
function rowChoices(row: SurveyRow, type: string, lists: ChoiceLists): readonly string[] | undefined {
  if (!LISTED_SELECTS.has(type)) return undefined;
  const list = row.select_from_list_name || row.type.trim().split(/\s+/)[1];
  return list ? lists.get(list) : undefined;
}

interface Frame {
  readonly kind: "root" | "group" | "repeat";
  readonly name: string;
  readonly path: string;
  readonly children: SchemaNode[];
}

/** "begin group" and "select_one list" spellings reduced to the bare type ("begin_group", "select_one"). */
function bareType(type: string): string {
  const t = type.trim().replace(/^(begin|end)\s+/, "$1_");
  return t.split(/\s+/)[0] ?? "";
}

const rowName = (row: SurveyRow): string => row.name || row.$autoname || "";
const joinPath = (parent: string, name: string): string => (parent === "" ? name : `${parent}/${name}`);

/** Applies one survey row to the frame stack; a SchemaError if the row breaks the structure. */
function applyRow(stack: Frame[], row: SurveyRow, where: string, lists: ChoiceLists): SchemaError | undefined {
  const type = bareType(row.type);
  const top = stack[stack.length - 1]!;
  const marker = /^(begin|end)_(.+)$/.exec(type);
  if (marker) {
    const [, edge, kind] = marker;
    if (kind !== "group" && kind !== "repeat") return new SchemaError(`${where}: Kobo structure '${type}' is not supported by the bridge`);
    if (edge === "begin") {
      const name = rowName(row);
      if (name === "") return new SchemaError(`${where}: ${type} has no name`);
      stack.push({ kind, name, path: joinPath(top.path, name), children: [] });
      return undefined;
    }
    if (top.kind === "root") return new SchemaError(`${where}: ${type} closes nothing (no open begin_${kind})`);
    if (top.kind !== kind) return new SchemaError(`${where}: ${type} closes begin_${top.kind} '${top.name}'`);
    stack.pop();
    if (!isEnvelopePath(top.path)) stack[stack.length - 1]!.children.push({ kind, name: top.name, path: top.path, children: top.children });
    return undefined;
  }
  const name = rowName(row);
  const path = joinPath(top.path, name);
  if (name === "" || NO_ANSWER_TYPES.has(type) || isEnvelopePath(path)) return undefined;
  const choices = rowChoices(row, type, lists);
  top.children.push({ kind: "field", name, path, type: FIELD_TYPES[type] ?? "string", ...(choices ? { choices } : {}) });
  return undefined;
}

function nodesFromSurvey(uid: string, rows: readonly SurveyRow[], lists: ChoiceLists): SchemaNode[] | SchemaError {
  const stack: Frame[] = [{ kind: "root", name: "", path: "", children: [] }];
  for (const [i, row] of rows.entries()) {
    const err = applyRow(stack, row, `Kobo asset ${uid}, content.survey row ${i + 1}`, lists);
    if (err) return err;
  }
  const open = stack[stack.length - 1]!;
  if (open.kind !== "root") return new SchemaError(`Kobo asset ${uid}: begin_${open.kind} '${open.name}' is never closed in content.survey`);
  return open.children;
}

/**
 * The schema of a deployed Kobo form from its asset detail JSON. Field types
 * follow the XLSForm row types (unknown types read as strings); notes, rows
 * without a name and the envelope (`__version__`, meta, formhub) are left out.
 * Returns a SchemaError, never throws, for a response of the wrong shape,
 * unbalanced group/repeat markers, or an asset that is not deployed.
 */
export function koboSchemaFromAsset(asset: unknown): FormSchema | SchemaError {
  const parsed = Asset.safeParse(asset);
  if (!parsed.success) return SchemaError.fromIssues("the Kobo asset JSON", parsed.error.issues);
  const a = parsed.data;
  if (a.has_deployment === false || !a.deployment__uuid || !a.deployed_version_id) {
    return new SchemaError(`Kobo asset ${a.uid} is not deployed (no deployment__uuid or deployed_version_id): deploy the form in KoboToolbox first`);
  }
  const nodes = nodesFromSurvey(a.uid, a.content.survey, choiceLists(a.content.choices ?? []));
  if (nodes instanceof SchemaError) return nodes;
  return {
    server: "kobo",
    formId: a.uid,
    title: a.name || a.uid,
    rootName: a.uid,
    version: a.deployed_version_id,
    formhubUuid: a.deployment__uuid,
    nodes,
  };
}
