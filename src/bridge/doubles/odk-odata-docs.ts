/**
 * OData documents about a form (service document, EDMX `$metadata`) and
 * `$select` field narrowing, after central-backend lib/formats/odata.js.
 * Entity sets: `Submissions` plus `Submissions.<repeat path, dot-joined>`
 * for every repeat; complex types for groups; names sanitised.
 */
import { sanitizeOdataIdentifier, isStructural, type OdkField } from "./odk-forms.js";
import { problems } from "./odk-problems.js";

/** The `__system/…` properties `$select` may name on the Submissions table. */
const SYSTEM_FIELDS = new Set([
  "__system", "__system/submissionDate", "__system/updatedAt", "__system/submitterId", "__system/submitterName",
  "__system/attachmentsPresent", "__system/attachmentsExpected", "__system/status", "__system/reviewState",
  "__system/deviceId", "__system/edits", "__system/formVersion", "__system/deletedAt",
]);

const sanitizedPath = (path: string): string => path.split("/").map((s) => (s === "" ? s : sanitizeOdataIdentifier(s))).join("/");
const parentOf = (path: string): string => path.slice(0, path.lastIndexOf("/"));

/** The entity set names of a form: "Submissions", then one per repeat. */
export function entitySets(fields: readonly OdkField[]): string[] {
  const repeats = fields.filter((f) => f.type === "repeat").map((f) => `Submissions.${sanitizedPath(f.path).slice(1).split("/").join(".")}`);
  return ["Submissions", ...repeats];
}

/** True when `table` names the Submissions set or a repeat's set. */
export function tableExists(fields: readonly OdkField[], table: string): boolean {
  return entitySets(fields).includes(table);
}

/** `GET …/{id}.svc`: the service document. `pathname` is the request path without query. */
export function serviceDocument(fields: readonly OdkField[], domain: string, pathname: string): Record<string, unknown> {
  return {
    "@odata.context": `${domain}${pathname}/$metadata`,
    value: entitySets(fields).map((name) => ({ name, kind: "EntitySet", url: name })),
  };
}

/**
 * Narrows the fields to a `$select` list (no `$select` or `*`: all):
 * selecting a group keeps its children, selecting inside a group keeps the
 * group, a property inside a repeat of the Submissions table is 400.24,
 * an unknown one 400.23.
 */
export function selectFields(fields: readonly OdkField[], select: string | undefined, table: string): readonly OdkField[] {
  if (select === undefined || select === "*") return fields;
  const bySanitized = new Map(fields.map((f) => [sanitizedPath(f.path), f]));
  const chosen = new Set<OdkField>();
  const ids = new Set(["__id"]);
  let base = "";
  if (table !== "Submissions") {
    const segments = table.replace(/^Submissions\./, "").split(".");
    let parentKey = "__Submissions";
    segments.forEach((segment, i) => {
      base += `/${segment}`;
      const f = bySanitized.get(base);
      if (f === undefined) throw problems.notFound();
      chosen.add(f);
      if (f.type === "repeat" && i < segments.length - 1) parentKey = `__Submissions${base.replaceAll("/", "-")}`;
    });
    ids.add(`${parentKey}-id`);
  }
  for (const property of select.split(",").map((p) => p.trim())) {
    if (ids.has(property) || (table === "Submissions" && SYSTEM_FIELDS.has(property))) continue;
    const f = bySanitized.get(`${base}/${property}`);
    if (f === undefined) throw problems.propertyNotFound(property);
    chosen.add(f);
    for (let p = parentOf(sanitizedPath(f.path)); p !== ""; p = parentOf(p)) {
      const parent = bySanitized.get(p);
      if (parent === undefined || chosen.has(parent)) break;
      if (parent.type === "repeat") throw problems.unsupportedODataSelectField(property);
      chosen.add(parent);
    }
    if (f.type === "structure") for (const d of groupContents(fields, f)) chosen.add(d);
  }
  return fields.filter((f) => chosen.has(f));
}

/** Everything below a group, descending through groups but not into repeats. */
function groupContents(fields: readonly OdkField[], group: OdkField): OdkField[] {
  const out: OdkField[] = [];
  for (const f of fields) {
    if (!f.path.startsWith(`${group.path}/`)) continue;
    const between = fields.filter((g) => f.path.startsWith(`${g.path}/`) && g.path.startsWith(`${group.path}/`));
    if (between.every((g) => g.type === "structure")) out.push(f);
  }
  return out;
}

/** The `__…` properties of `$select` (null when there is no `$select` or it is `*`). */
export function selectedMetadata(select: string | undefined): ReadonlySet<string> | null {
  if (select === undefined || select === "*") return null;
  return new Set(select.split(",").map((p) => p.trim()).filter((p) => p.startsWith("__")));
}

const EDM_TYPES: Record<string, string> = {
  int: "Edm.Int64", decimal: "Edm.Decimal", boolean: "Edm.Boolean", geopoint: "Edm.GeographyPoint",
  geotrace: "Edm.GeographyLineString", geoshape: "Edm.GeographyPolygon", date: "Edm.Date", dateTime: "Edm.DateTimeOffset",
};

interface TypeDecl {
  readonly name: string;
  readonly path: string | null;
  readonly repeat: boolean;
  readonly props: string[];
}

/** `GET …/{id}.svc/$metadata`: an EDMX 4.0 document with Central's namespaces and type names. */
export function edmx(xmlFormId: string, fields: readonly OdkField[]): string {
  const ns = `org.opendatakit.user.${sanitizeOdataIdentifier(xmlFormId)}`;
  const root: TypeDecl = { name: "Submissions", path: null, repeat: false, props: [] };
  const entities: TypeDecl[] = [root];
  const complex: TypeDecl[] = [];
  const stack: TypeDecl[] = [root];
  for (const field of fields) {
    while (stack.length > 1 && !field.path.startsWith(`${stack[stack.length - 1]?.path ?? ""}/`)) stack.pop();
    const out = stack[stack.length - 1] ?? root;
    const name = sanitizeOdataIdentifier(field.name);
    if (!isStructural(field)) {
      out.props.push(`<Property Name="${name}" Type="${EDM_TYPES[field.type] ?? "Edm.String"}"/>`);
      continue;
    }
    const typeName = sanitizedPath(field.path).slice(1).split("/").join(".");
    if (field.type === "structure") {
      const decl: TypeDecl = { name: typeName, path: field.path, repeat: false, props: [] };
      complex.push(decl);
      stack.push(decl);
      out.props.push(`<Property Name="${name}" Type="${ns}.${typeName}"/>`);
    } else {
      const context = [...stack].reverse().find((d) => d.repeat);
      const idParts = ["Submissions", ...(context === undefined || context.path === null ? [] : sanitizedPath(context.path).slice(1).split("/"))];
      const decl: TypeDecl = { name: `Submissions.${typeName}`, path: field.path, repeat: true, props: [`<Property Name="__${idParts.join("-")}-id" Type="Edm.String"/>`] };
      entities.push(decl);
      stack.push(decl);
      out.props.push(`<NavigationProperty Name="${name}" Type="Collection(${ns}.Submissions.${typeName})"/>`);
    }
  }
  return renderEdmx(xmlFormId, ns, entities, complex);
}

function renderEdmx(xmlFormId: string, ns: string, entities: TypeDecl[], complex: TypeDecl[]): string {
  const entity = (d: TypeDecl): string =>
    `<EntityType Name="${d.name}"><Key><PropertyRef Name="__id"/></Key><Property Name="__id" Type="Edm.String"/>` +
    `${d === entities[0] ? '<Property Name="__system" Type="org.opendatakit.submission.metadata"/>' : ""}${d.props.join("")}</EntityType>`;
  const system = ["submissionDate:Edm.DateTimeOffset", "updatedAt:Edm.DateTimeOffset", "deletedAt:Edm.DateTimeOffset", "submitterId:Edm.String",
    "submitterName:Edm.String", "attachmentsPresent:Edm.Int64", "attachmentsExpected:Edm.Int64", "status:org.opendatakit.submission.Status",
    "reviewState:org.opendatakit.submission.ReviewState", "deviceId:Edm.String", "edits:Edm.Int64", "formVersion:Edm.String"]
    .map((p) => p.split(":")).map(([n, t]) => `<Property Name="${n}" Type="${t}"/>`).join("");
  const members = (names: string[]): string => names.map((m) => `<Member Name="${m}"/>`).join("");
  return '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0"><edmx:DataServices>' +
    `<Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="org.opendatakit.submission"><ComplexType Name="metadata">${system}</ComplexType>` +
    `<EnumType Name="Status">${members(["notDecrypted", "missingEncryptedFormData"])}</EnumType>` +
    `<EnumType Name="ReviewState">${members(["hasIssues", "edited", "rejected", "approved"])}</EnumType></Schema>` +
    `<Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="${ns}">${entities.map(entity).join("")}` +
    complex.map((c) => `<ComplexType Name="${c.name}">${c.props.join("")}</ComplexType>`).join("") +
    `<EntityContainer Name="${xmlFormId}">${entities.map((e) => `<EntitySet Name="${e.name}" EntityType="${ns}.${e.name}"/>`).join("")}</EntityContainer>` +
    "</Schema></edmx:DataServices></edmx:Edmx>";
}
