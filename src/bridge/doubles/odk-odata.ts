/**
 * The OData feed of a form, `/v1/projects/{p}/forms/{id}.svc…`, after
 * central-backend lib/resources/odata.js and lib/formats/odata.js:
 * service document, `$metadata`, the Submissions table and repeat tables
 * with `$top/$skip/$count/$skiptoken/$filter/$orderby/$expand/$select/$wkt`,
 * and single submissions (`Submissions('uuid:…')[/repeat…]`).
 * Paging: `@odata.nextLink` (built on the configured domain, never the
 * listening address) carries `$skiptoken=01<base64 JSON>`; on the
 * Submissions table it is a cursor `{instanceId}` — rows created before
 * that submission — so paging stays consistent while rows arrive; repeat
 * tables use `{repeatId}`. `$orderby` and `$skiptoken` together are 501.1,
 * so a nextLink of an ordered query cannot be followed (as in Central).
 */
import { createHash } from "node:crypto";
import { compileFilter, compileOrderBy } from "./odk-filter.js";
import { json, withEtag, xml, type OdkReply, type OdkRequest, type OdkRoute } from "./odk-http.js";
import { edmx, selectFields, selectedMetadata, serviceDocument, tableExists } from "./odk-odata-docs.js";
import { renderSubmission, type ODataRow, type RenderOptions, type SystemProperties } from "./odk-odata-rows.js";
import { currentDef, currentFormDef, isoOf, isoOrNull, type OdkForm, type OdkSubmission } from "./odk-model.js";
import { problems } from "./odk-problems.js";
import { isTrue, projectIdOf } from "./odk-rest.js";
import type { OdkStore } from "./odk-store.js";

const SVC = String.raw`^/projects/([^/]+)/forms/([^/]+)\.svc`;
const SUPPORTED = ["$format", "$count", "$skip", "$top", "$filter", "$wkt", "$expand", "$select", "$skiptoken", "$orderby", "$search"];
const ODATA_HEADERS = { "odata-version": "4.0" };

/** The OData routes of published forms; `domain` is Central's env.domain. */
export function odataRoutes(store: OdkStore, domain: string): OdkRoute[] {
  const form = (params: readonly string[]): OdkForm => formOf(store, params);
  const withHeaders = (r: OdkReply, type?: string): OdkReply => ({ ...r, headers: { ...r.headers, ...ODATA_HEADERS, ...(type === undefined ? {} : { "content-type": type }) } });
  return [
    {
      method: "GET", pattern: new RegExp(`${SVC}/?$`), odata: "json", handler: (req, params) =>
        withHeaders(json(serviceDocument(currentFormDef(form(params)).fields, domain, req.target.split("?")[0] ?? "")), "application/json; odata.metadata=minimal"),
    },
    {
      method: "GET", pattern: new RegExp(`${SVC}/(?:\\$|%24)metadata$`), odata: "xml", handler: (_req, params) => {
        const f = form(params);
        return withHeaders(xml(edmx(f.xmlFormId, currentFormDef(f).fields)));
      },
    },
    { method: "GET", pattern: new RegExp(`${SVC}/Submissions\\(([^)/]*)\\)(/.*)?$`), odata: "json", handler: (req, params) => withHeaders(single(store, domain, req, params)) },
    { method: "GET", pattern: new RegExp(`${SVC}/([^/]+)$`), odata: "json", handler: (req, params) => withHeaders(table(store, domain, req, params)) },
  ];
}

/** The form named by the route's project and xmlFormId segments. */
function formOf(store: OdkStore, params: readonly string[]): OdkForm {
  return store.form(projectIdOf(params[0]), params[1] ?? "");
}

/** Central's OData preprocessor, run before authentication: response format, OData-MaxVersion, unsupported options. */
export function checkODataRequest(req: OdkRequest, format: "json" | "xml"): void {
  const isJson = (x: string): boolean => /(^|,)(application\/json|json)($|;|,)/i.test(x);
  const isXml = (x: string): boolean => /(^|,)(application\/(atom(svc)?\+)?xml|atom|xml)($|;|,)/i.test(x);
  const $format = req.query.get("$format");
  const asked = $format !== null && $format.trim() !== "" ? $format : req.headers.accept ?? "";
  if ((isJson(asked) && format === "xml") || (isXml(asked) && format === "json")) {
    throw problems.unacceptableFormat(format === "json" ? ["application/json", "json"] : ["application/xml", "atom"], asked);
  }
  const maxVersion = req.headers["odata-maxversion"];
  if (typeof maxVersion === "string" && parseFloat(maxVersion) < 4) throw problems.notFound();
  for (const key of req.query.keys()) if (!SUPPORTED.includes(key)) throw problems.notImplemented(key);
  const expand = req.query.get("$expand");
  if (expand !== null && expand !== "" && expand !== "*") throw problems.unsupportedODataExpand(expand);
  if (expand !== null && expand !== "" && req.query.get("$select") !== null) throw problems.unsupportedODataSelectExpand();
}

interface SkipToken {
  readonly instanceId?: string;
  readonly repeatId?: string;
}

function parseSkiptoken(token: string): SkipToken {
  const body = token.slice(2);
  if (!token.startsWith("01") || !/^[A-Za-z0-9+/]*={0,2}$/.test(body.trim())) throw problems.odataInvalidSkiptoken();
  try {
    const parsed: unknown = JSON.parse(Buffer.from(body, "base64").toString("utf8"));
    if (typeof parsed !== "object" || parsed === null) throw problems.odataInvalidSkiptoken();
    return parsed as SkipToken;
  } catch {
    throw problems.odataInvalidSkiptoken();
  }
}

/** The next page's URL: the request's own, without `$skip`, with a fresh `$skiptoken` (keys re-encoded, "$" as %24). */
function nextLink(domain: string, target: string, data: SkipToken): string {
  const url = new URL(target, "http://getodk.org");
  url.searchParams.delete("$skip");
  url.searchParams.set("$skiptoken", `01${Buffer.from(JSON.stringify(data), "utf8").toString("base64")}`);
  url.search = url.searchParams.toString();
  return `${domain}${url.pathname}${url.search}`;
}

/** The `{"value":…, "@odata.context", "@odata.nextLink"?, "@odata.count"?}` envelope. */
function envelope(domain: string, target: string, table: string, rows: ODataRow[], next: string | null, count: number | null): Record<string, unknown> {
  const svc = target.slice(0, target.indexOf(".svc") + 4);
  const out: Record<string, unknown> = { value: rows, "@odata.context": `${domain}${svc}/$metadata#${table}` };
  if (next !== null) out["@odata.nextLink"] = next;
  if (count !== null) out["@odata.count"] = count;
  return out;
}

function renderOptions(req: OdkRequest): RenderOptions {
  return { wkt: isTrue(req.query.get("$wkt")), expand: req.query.get("$expand") === "*", metadata: selectedMetadata(req.query.get("$select") ?? undefined) };
}

/** `__system` of a submission (strings for ids, as OData shows them). */
function systemOf(store: OdkStore, form: OdkForm, sub: OdkSubmission): SystemProperties {
  const def = currentDef(sub);
  const submitter = sub.submitterId === null ? undefined : store.actors.get(sub.submitterId);
  const attachments = [...def.attachments.values()];
  return {
    submissionDate: isoOf(sub.createdAt), updatedAt: isoOrNull(sub.updatedAt),
    submitterId: sub.submitterId === null ? null : String(sub.submitterId), submitterName: submitter?.displayName ?? null,
    attachmentsPresent: attachments.filter((a) => a !== null).length, attachmentsExpected: attachments.length,
    status: null, reviewState: sub.reviewState, deviceId: sub.deviceId, edits: sub.defs.length - 1,
    formVersion: store.formDefById(form, sub.defs[0]?.formDefId ?? -1).version, deletedAt: isoOrNull(sub.deletedAt),
  };
}

/** Drops `__id` and the parent key unless `$select` named them. */
function refine(row: ODataRow, metadata: ReadonlySet<string> | null): ODataRow {
  if (metadata === null) return row;
  return Object.fromEntries(Object.entries(row).filter(([k]) => !(k === "__id" || /^__.*-id$/.test(k)) || metadata.has(k)));
}

function paging(req: OdkRequest): { limit: number; offset: number; count: boolean; token: SkipToken | null } {
  const top = parseInt(req.query.get("$top") ?? "", 10);
  const token = req.query.get("$skiptoken");
  const skip = token === null ? parseInt(req.query.get("$skip") ?? "", 10) || 0 : 0;
  return { limit: Math.max(0, Number.isNaN(top) ? Infinity : top), offset: Math.max(0, skip), count: isTrue(req.query.get("$count")), token: token === null ? null : parseSkiptoken(token) };
}

/** GET …svc/{table}: the Submissions table or a repeat table. */
function table(store: OdkStore, domain: string, req: OdkRequest, params: readonly string[]): OdkReply {
  const form = formOf(store, params);
  const name = params[2] ?? "";
  const isSubs = name === "Submissions";
  const q = req.query;
  const top = q.get("$top") === null ? undefined : parseInt(q.get("$top") ?? "", 10);
  const token = isSubs && q.get("$skiptoken") !== null ? parseSkiptoken(q.get("$skiptoken") ?? "") : null;
  const orderby = q.get("$orderby") || undefined; // an empty $orderby means the default order
  if (orderby !== undefined && token !== null) throw problems.notImplemented("using $orderby and $skiptoken together");
  if (top === 0 && !isTrue(q.get("$count"))) return json(envelope(domain, req.target, name, [], null, null));
  const fields = selectFields(currentFormDef(form).fields, q.get("$select") ?? undefined, name);
  const filter = compileFilter(q.get("$filter") ?? undefined, isSubs, store.nowMicros());
  const matching = store.submissionsOf(form).filter(filter.matches).sort(compileOrderBy(orderby));
  const afterCursor = token === null || token.repeatId !== undefined ? matching : rowsAfter(store.submissionsOf(form), matching, token.instanceId);
  if (top === 0 && isSubs) return json(envelope(domain, req.target, name, [], null, matching.length));
  const hasPaging = isSubs && (top !== undefined || token !== null || q.get("$skip") !== null);
  const offset = isSubs && token === null ? parseInt(q.get("$skip") ?? "", 10) || 0 : 0;
  const page = isSubs ? afterCursor.slice(offset, top === undefined || Number.isNaN(top) ? undefined : offset + top) : matching;
  const counts = hasPaging ? { count: matching.length, remaining: afterCursor.length } : null;
  const body = JSON.stringify(stream(store, domain, req, form, name, fields, page, counts));
  return withEtag(req, createHash("md5").update(body).digest("hex"), true, () => ({ status: 200, headers: { "content-type": "application/json; charset=utf-8" }, body }));
}

/** Submissions strictly after the cursor's in Central's default order (older, or same time and lower id); none if the cursor is unknown. */
function rowsAfter(all: OdkSubmission[], matching: OdkSubmission[], instanceId: string | undefined): OdkSubmission[] {
  const c = all.find((s) => s.instanceId === instanceId);
  if (c === undefined) return [];
  return matching.filter((s) => s.createdAt < c.createdAt || (s.createdAt === c.createdAt && s.id < c.id));
}

/** Central's row streamer: renders, pages repeat tables in the app, counts, and builds the nextLink. */
function stream(store: OdkStore, domain: string, req: OdkRequest, form: OdkForm, name: string, fields: ReturnType<typeof selectFields>,
  subs: OdkSubmission[], counts: { count: number; remaining: number } | null): Record<string, unknown> {
  if (!tableExists(currentFormDef(form).fields, name)) throw problems.notFound();
  const isSub = name !== "Submissions";
  const p = paging(req);
  const [doLimit, doOffset] = isSub ? [p.limit, p.offset] : [Infinity, 0];
  const options = renderOptions(req);
  const out: ODataRow[] = [];
  let counted = 0;
  let remainingItems = 0;
  let cursorFound = !isSub || p.token === null;
  let last: { instanceId: string | null; repeatId: string | null } = { instanceId: null, repeatId: null };
  for (const sub of subs) {
    for (const row of renderSubmission(fields, name, { instanceId: sub.instanceId, xml: currentDef(sub).xml, system: systemOf(store, form, sub) }, options)) {
      if (out.length === doLimit) remainingItems += 1;
      if (out.length < doLimit && counted >= doOffset && cursorFound) {
        out.push(refine(row, options.metadata));
        last = { instanceId: sub.instanceId, repeatId: isSub ? String(row.__id) : null };
      }
      cursorFound = cursorFound || p.token?.repeatId === row.__id;
      counted += 1;
    }
  }
  if (!cursorFound) throw problems.odataRepeatIdNotFound();
  const remaining = counts === null ? remainingItems : counts.remaining - out.length;
  const data: SkipToken = isSub ? { repeatId: last.repeatId ?? undefined } : { instanceId: last.instanceId ?? undefined };
  const next = remaining > 0 ? nextLink(domain, req.target, data) : null;
  return envelope(domain, req.target, name, out, next, p.count ? counts?.count ?? counted : null);
}

/** GET …svc/Submissions('uuid:…')[/repeat[('id')]/…]: one submission's rows at that depth. */
function single(store: OdkStore, domain: string, req: OdkRequest, params: readonly string[]): OdkReply {
  const form = formOf(store, params);
  const key = /^'((?:uuid:)?[a-z0-9-]+)'$/i.exec(params[2] ?? "");
  if (key === null) throw problems.notFound();
  const path = (req.target.split("?")[0] ?? "").split(".svc")[1] ?? "";
  const context = path.split("/").slice(1).map((part) => {
    const m = /^([^(]+)\('((?:uuid:)?[a-z0-9-]+)'\)$/i.exec(safeDecode(part));
    return m === null ? { name: part, id: null } : { name: m[1] ?? "", id: m[2] ?? null };
  });
  const name = context.map((c) => c.name).join(".");
  const fields = selectFields(currentFormDef(form).fields, req.query.get("$select") ?? undefined, name);
  const sub = store.submission(form, key[1] ?? "");
  if (!tableExists(currentFormDef(form).fields, name)) throw problems.notFound();
  const options = renderOptions(req);
  const rows = renderSubmission(fields, name, { instanceId: sub.instanceId, xml: currentDef(sub).xml, system: systemOf(store, form, sub) }, options);
  const idx = context.reduce((found, c, i) => (c.id !== null ? i : found), -1);
  const filterField = `__${context.slice(0, idx + 1).map((c) => c.name).join("-")}-id`;
  const filtered = idx === 0 ? rows : rows.filter((r) => r[filterField] === context[idx]?.id);
  const p = paging(req);
  let offset = p.offset;
  if (p.token !== null) {
    if (p.token.repeatId === undefined) throw problems.odataInvalidSkiptoken();
    offset = filtered.findIndex((r) => r.__id === p.token?.repeatId) + 1;
    if (offset === 0) throw problems.odataRepeatIdNotFound();
  }
  const pared = filtered.slice(offset, offset + p.limit);
  const lastRow = pared[pared.length - 1];
  const remaining = filtered.length - (offset + p.limit);
  const next = lastRow !== undefined && remaining > 0
    ? nextLink(domain, req.target, name === "Submissions" ? { instanceId: sub.instanceId } : { repeatId: String(lastRow.__id) })
    : null;
  return json(envelope(domain, req.target, name, pared.map((r) => refine(r, options.metadata)), next, p.count ? filtered.length : null));
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
