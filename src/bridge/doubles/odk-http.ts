/**
 * The double's HTTP plumbing on node:http: a parsed request, a reply value,
 * a small router over the path after `/v1`, and the one place replies and
 * problems are written. Routes are tried in order; captured path segments
 * are percent-decoded (a malformed escape is 404.1, as in Central).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { OdkActor, OdkSession } from "./odk-model.js";
import { OdkProblem, problems } from "./odk-problems.js";

/** A request as handlers see it. `target` is the request line's target, e.g. "/v1/projects?forms=true". */
export interface OdkRequest {
  readonly method: string;
  readonly target: string;
  /** The path after "/v1", still percent-encoded. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The parsed body when it was sent as application/json, else undefined. */
  readonly json: unknown;
}

/** Who is calling: set for every route but POST /sessions. */
export interface OdkAuth {
  readonly actor: OdkActor;
  readonly session: OdkSession | null;
}

/** What a handler answers. */
export interface OdkReply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
}

export type OdkHandler = (req: OdkRequest, params: readonly string[], auth: OdkAuth) => OdkReply;

interface RouteBase {
  readonly method: string;
  /** Matched against the whole path after /v1. */
  readonly pattern: RegExp;
  /** OData routes: the format their responses take (checked against Accept / $format before auth). */
  readonly odata?: "json" | "xml";
}

/** A route; only `anonymous` ones are served without credentials. */
export type OdkRoute =
  | (RouteBase & { readonly anonymous?: false; readonly handler: OdkHandler })
  | (RouteBase & { readonly anonymous: true; readonly handler: (req: OdkRequest, params: readonly string[]) => OdkReply });

/** A JSON reply. */
export function json(value: unknown, status = 200, headers: Record<string, string> = {}): OdkReply {
  return { status, headers: { "content-type": "application/json; charset=utf-8", ...headers }, body: JSON.stringify(value) };
}

/** An XML reply. */
export function xml(text: string, status = 200): OdkReply {
  return { status, headers: { "content-type": "application/xml; charset=utf-8" }, body: text };
}

/** Central's `{"success":true}`. */
export const success = (): OdkReply => json({ success: true });

/** Answers 304 when If-None-Match carries the tag (weak or strong), else the reply with an ETag. */
export function withEtag(req: OdkRequest, tag: string, weak: boolean, reply: () => OdkReply): OdkReply {
  const header = `${weak ? "W/" : ""}"${tag}"`;
  const sent = req.headers["if-none-match"];
  if (sent === `"${tag}"` || sent === `W/"${tag}"`) return { status: 304, headers: { etag: header } };
  const r = reply();
  return { ...r, headers: { ...r.headers, etag: header } };
}

/** Finds the route for a request; 404.1 when none matches. */
export function matchRoute(routes: readonly OdkRoute[], method: string, path: string): { route: OdkRoute; params: string[] } {
  for (const route of routes) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (m === null) continue;
    try {
      return { route, params: m.slice(1).map((p) => decodeURIComponent(p ?? "")) };
    } catch {
      throw problems.notFound();
    }
  }
  throw problems.notFound();
}

/** Reads the whole request body. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Writes a reply. */
export function sendReply(res: ServerResponse, reply: OdkReply): void {
  res.writeHead(reply.status, reply.headers ?? {});
  res.end(reply.body);
}

/** The one translation of failures into responses: problems as JSON (or Central's OData XML error), anything else as a bare 500. */
export function problemReply(error: unknown, format: "json" | "xml" = "json"): OdkReply {
  if (!(error instanceof OdkProblem)) return json({ message: "Internal Server Error" }, 500);
  if (format === "json") return json(error.toJson(), error.status);
  const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<error code="${error.code}">\n  <message>${esc(error.message)}</message>\n  <details>${esc(JSON.stringify(error.details ?? ""))}</details>\n</error>`;
  return { status: error.status, headers: { "content-type": "text/xml; charset=utf-8" }, body };
}

/** True for a body sent as JSON. */
export function isJsonContent(headers: IncomingHttpHeaders): boolean {
  return /^application\/json\b/i.test(headers["content-type"] ?? "");
}
