/**
 * `/api/v2/assets/{uid}/data/…` of the Kobo double: the paginated list with
 * kpi's parameter validation (fact sheet §4, `DataViewSet.list`,
 * `validate_submission_list_params`), one submission as JSON or its stored
 * XML, hard delete, and attachment downloads.
 */
import { pageLinks, errorReply, jsonReply, textReply, emptyReply, rootXml, NOT_FOUND, XML_TYPE, XML_DECLARATION, escapeXml } from "./kobo-http.js";
import type { ApiRequest, KoboReply } from "./kobo-http.js";
import { addUuidPrefix, cachedSubmissionJson, removeUuidPrefix, submissionJson, type JsonContext } from "./kobo-instance.js";
import { compileFilter, compileProjection, compileSort, parseJsonParam, pythonInt, type DocFilter, type DocOrder, type MongoDoc } from "./kobo-query.js";
import type { AssetRecord, InstanceRecord, KoboStore } from "./kobo-submissions.js";

/** kpi's DEFAULT_API_PAGE_SIZE: rows per page when the request names no limit. */
export const DEFAULT_PAGE_SIZE = 100;

export interface DataApiOptions {
  readonly store: KoboStore;
  /** kpi's MAX_API_PAGE_SIZE: a larger `limit` is silently cut to it. */
  readonly maxPageSize: number;
}

type Format = "json" | "xml";

interface ListParams {
  readonly start: number;
  /** Rows returned. Without a `limit` parameter kpi asks Mongo for DEFAULT_PAGE_SIZE rows even when the maximum is lower. */
  readonly limit: number;
  /** The limit DRF's paginator uses for next/previous links: always cut to the maximum. */
  readonly linkLimit: number;
  readonly filter: DocFilter;
  readonly order: DocOrder;
  readonly project: ((doc: MongoDoc) => Record<string, unknown>) | undefined;
}

const UNSUPPORTED_QUERY = ["Unsupported query"];
const NOT_JSON = "Value must be valid JSON.";

/** DRF's _positive_int over a query-string value; undefined where it raises. */
export function positiveInt(raw: string, strict: boolean, cutoff?: number): number | undefined {
  const n = pythonInt(raw);
  if (n === undefined || n < 0 || (strict && n === 0)) return undefined;
  return cutoff === undefined ? n : Math.min(n, cutoff);
}

/** Where a submission's links point: the request's origin, keeping its `format` parameter as kpi's reverse() does. */
export function jsonContext(asset: AssetRecord, origin: string, format?: string): JsonContext {
  return { origin, format, assetUid: asset.def.uid, owner: asset.owner, formhubUuid: asset.def.deploymentUuid, form: asset.form };
}

function requestJsonContext(asset: AssetRecord, req: ApiRequest): JsonContext {
  return jsonContext(asset, req.origin, req.query.get("format") ?? undefined);
}

/** GET …/data/ (also data.json / data.xml via `suffixFormat`). */
export function listData(opts: DataApiOptions, req: ApiRequest, asset: AssetRecord, suffixFormat?: string): KoboReply {
  const rawFormat = suffixFormat ?? req.query.get("format") ?? "json";
  if (rawFormat !== "json" && rawFormat !== "xml") return jsonReply(404, NOT_FOUND);
  const format: Format = rawFormat;
  const params = readListParams(req, format, opts.maxPageSize);
  if ("status" in params) return params;
  const all = opts.store.instancesOf(asset.def.uid);
  const ctx = requestJsonContext(asset, req);
  const docs = all.map((inst) => ({ inst, doc: cachedSubmissionJson(inst, ctx) })).filter(({ doc }) => params.filter(doc));
  docs.sort((a, b) => params.order(a.doc, b.doc));
  const page = docs.slice(params.start, params.start + params.limit);
  const links = pageLinks(req, docs.length, params.start, params.linkLimit);
  if (format === "xml") return xmlList(docs.length, links, page.map(({ inst }) => inst));
  const results = page.map(({ doc }) => (params.project ? params.project(doc) : doc));
  return jsonReply(200, { count: docs.length, ...links, results });
}

function readListParams(req: ApiRequest, format: Format, maxPageSize: number): ListParams | KoboReply {
  const q = (name: string): string | null => req.query.get(name);
  const bad = (data: unknown): KoboReply => errorReply(400, data, format);
  const rawLimit = q("limit");
  const limit = rawLimit === null ? DEFAULT_PAGE_SIZE : positiveInt(rawLimit, true, maxPageSize);
  if (limit === undefined) return bad({ limit: "A positive integer is required" });
  if (q("count") !== null) return bad({ count: "This param is not implemented. Use `count` property of the response instead." });
  if (format === "xml" && q("sort") !== null) return bad({ sort: "This param is not supported in `XML` format" });
  if (format === "xml" && q("fields") !== null) return bad({ fields: "This is not supported in `XML` format" });
  const query = parseParam(q("query"));
  if (!query) return bad({ query: NOT_JSON });
  const sort = parseParam(q("sort"));
  if (!sort) return bad({ sort: NOT_JSON });
  const start = positiveInt(q("start") ?? "0", false);
  if (start === undefined) return bad({ start: "A positive integer is required." });
  const fields = parseParam(q("fields"));
  if (!fields) return bad({ fields: NOT_JSON });
  const filter = compileFilter(query.value);
  const order = compileSort(format === "xml" ? null : sort.value);
  const project = compileProjection(fields.value ?? []);
  if (!filter.ok || !order.ok || !project.ok) return bad(UNSUPPORTED_QUERY);
  return { start, limit, linkLimit: Math.min(limit, maxPageSize), filter: filter.value, order: order.value, project: project.value };
}

function parseParam(raw: string | null): { value: unknown } | undefined {
  return raw === null ? { value: null } : parseJsonParam(raw);
}

/** kpi's SubmissionXMLRenderer: the envelope as `<root>` fields, each stored XML (declaration dropped) inside `<results>`. */
function xmlList(count: number, links: { next: string | null; previous: string | null }, page: readonly InstanceRecord[]): KoboReply {
  const head = rootXml({ count, next: links.next, previous: links.previous }).replace(/<\/root>$/, "");
  const results = page.map((i) => i.xml.trim().replace(/^<\?xml[^>]*>/, "")).join("");
  return textReply(200, `${head}${results === "" ? "" : `<results>${results}</results>`}</root>`, XML_TYPE);
}

/** One submission by `_id`, by `_uuid`, or by rootUuid without "uuid:" (the first match in `_id` order). */
export function findSubmission(store: KoboStore, asset: AssetRecord, idParam: string): InstanceRecord | undefined {
  const id = positiveInt(idParam, false);
  if (id !== undefined) return store.instance(asset.def.uid, id);
  const prefixed = addUuidPrefix(idParam);
  return store.instancesOf(asset.def.uid).find((i) => addUuidPrefix(i.rootUuid) === prefixed || i.uuid === removeUuidPrefix(prefixed));
}

/** GET …/data/{id}/: the JSON document, or with `?format=xml` the stored XML of the current version. */
export function getSubmission(opts: DataApiOptions, req: ApiRequest, asset: AssetRecord, idParam: string): KoboReply {
  const format = req.query.get("format") ?? "json";
  if (format !== "json" && format !== "xml") return jsonReply(404, NOT_FOUND);
  const inst = findSubmission(opts.store, asset, idParam);
  if (!inst) return errorReply(404, NOT_FOUND, format);
  if (format === "json") return jsonReply(200, submissionJson(inst, requestJsonContext(asset, req)));
  const xml = inst.xml.trim();
  return textReply(200, /^<\?xml/i.test(xml) ? xml : `${XML_DECLARATION}${xml}`, XML_TYPE);
}

/** DELETE …/data/{id}/: a hard delete. */
export function deleteSubmission(opts: DataApiOptions, asset: AssetRecord, idParam: string): KoboReply {
  const inst = findSubmission(opts.store, asset, idParam);
  if (!inst) return jsonReply(404, NOT_FOUND);
  return opts.store.delete(asset.def.uid, inst.id) ? emptyReply(204) : jsonReply(404, { detail: "Submission not found" });
}

/** GET …/data/{id}/attachments/{pk or uid}/ (and the …/{suffix}/ thumbnails, served unscaled): the file's bytes. */
export function getAttachment(opts: DataApiOptions, asset: AssetRecord, idParam: string, attachmentParam: string): KoboReply {
  const inst = findSubmission(opts.store, asset, idParam);
  const pk = positiveInt(attachmentParam, true);
  const found = inst?.attachments.find((a) => !a.deleted && (a.uid === attachmentParam || a.pk === pk));
  if (!found) return jsonReply(404, NOT_FOUND);
  const disposition = `inline; filename="${escapeXml(found.basename)}"`;
  return textReply(200, found.bytes, found.mimetype, { "content-disposition": disposition });
}
