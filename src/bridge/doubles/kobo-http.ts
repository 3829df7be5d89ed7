/**
 * The Kobo double's HTTP vocabulary: a request as the handlers see it, and
 * replies as values that the server writes in one place. Renders errors the
 * way Django REST Framework does (JSON, or kpi's `<root>` XML) and builds
 * pagination links the way DRF's replace_query_param does.
 */
import type { IncomingMessage } from "node:http";

/** What a handler needs of a request. */
export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  /** "http://host:port" as the client addressed us (Django's build_absolute_uri uses the Host header). */
  readonly origin: string;
  readonly headers: IncomingMessage["headers"];
}

export interface KoboReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array;
}

export const JSON_TYPE = "application/json";
export const XML_TYPE = "application/xml; charset=utf-8";
export const NOT_FOUND = { detail: "Not found." } as const;
/** What kpi's add_xml_declaration puts in front of XML documents. */
export const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>';

export function jsonReply(status: number, value: unknown, headers: Record<string, string> = {}): KoboReply {
  return { status, headers: { "content-type": JSON_TYPE, ...headers }, body: JSON.stringify(value) };
}

export function textReply(status: number, body: string | Uint8Array, contentType: string, headers: Record<string, string> = {}): KoboReply {
  return { status, headers: { "content-type": contentType, ...headers }, body };
}

export function emptyReply(status: number, headers: Record<string, string> = {}): KoboReply {
  return { status, headers, body: "" };
}

/** Django's plain 404 page for a URL no route matches. */
export function noRouteReply(path: string): KoboReply {
  return textReply(404, `<h1>Not Found</h1><p>The requested resource ${escapeXml(path)} was not found on this server.</p>`, "text/html; charset=utf-8");
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** DRF's XML rendering of an error or envelope: `{"k": v}` → `<root><k>v</k></root>`, a list → its items inside `<root>`. */
export function rootXml(data: unknown): string {
  const inner = Array.isArray(data) ? data.map((v) => escapeXml(String(v))).join("") : xmlFields(data);
  return `${XML_DECLARATION}<root>${inner}</root>`;
}

function xmlFields(data: unknown): string {
  if (typeof data !== "object" || data === null) return escapeXml(String(data));
  return Object.entries(data)
    .map(([k, v]) => (v === null ? `<${k}></${k}>` : `<${k}>${escapeXml(String(v))}</${k}>`))
    .join("");
}

/** A DRF error in the format the endpoint negotiated; `xmlType` is the XML renderer's media type. */
export function errorReply(status: number, data: unknown, format: "json" | "xml", headers: Record<string, string> = {}, xmlType = XML_TYPE): KoboReply {
  return format === "xml" ? textReply(status, rootXml(data), xmlType, headers) : jsonReply(status, data, headers);
}

/** Python's urlencode(quote_plus): like encodeURIComponent, but spaces are '+' and !'()* are escaped too. */
function quotePlus(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

/**
 * The request's absolute URL with some parameters replaced (a null removes
 * one). Like DRF, every parameter is kept and the query is re-encoded with
 * its keys sorted.
 */
export function linkWith(req: ApiRequest, replace: Readonly<Record<string, string | null>>): string {
  const params = new Map<string, string[]>();
  for (const [k, v] of req.query) params.set(k, [...(params.get(k) ?? []), v]);
  for (const [k, v] of Object.entries(replace)) {
    if (v === null) params.delete(k);
    else params.set(k, [v]);
  }
  const keys = [...params.keys()].sort();
  const query = keys.flatMap((k) => params.get(k)!.map((v) => `${quotePlus(k)}=${quotePlus(v)}`)).join("&");
  return `${req.origin}${req.path}${query === "" ? "" : `?${query}`}`;
}

/** DRF LimitOffsetPagination's next/previous links, with kpi's offset parameter `start`. */
export function pageLinks(req: ApiRequest, count: number, start: number, limit: number): { next: string | null; previous: string | null } {
  const next = start + limit >= count ? null : linkWith(req, { limit: String(limit), start: String(start + limit) });
  let previous: string | null = null;
  if (start > 0) previous = linkWith(req, { limit: String(limit), start: start - limit <= 0 ? null : String(start - limit) });
  return { next, previous };
}

/**
 * DRF content negotiation between an XML and a JSON renderer: `?format=`
 * wins, then the first Accept entry (by q) that names one of them; `*\/*`
 * and no Accept give the first renderer.
 */
export function negotiate(req: ApiRequest, first: "json" | "xml"): "json" | "xml" {
  const format = req.query.get("format");
  if (format === "json" || format === "xml") return format;
  const ranges = (req.headers.accept ?? "*/*")
    .split(",")
    .map((part, i) => {
      const [type = "", ...params] = part.trim().toLowerCase().split(";");
      const q = Number(params.map((p) => p.trim()).find((p) => p.startsWith("q="))?.slice(2) ?? "1");
      return { type: type.trim(), q: Number.isNaN(q) ? 1 : q, i };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const { type } of ranges) {
    if (type === "application/json" || type === "application/*") return "json";
    if (type === "text/xml" || type === "application/xml" || type === "text/*") return "xml";
    if (type === "*/*") return first;
  }
  return first;
}
