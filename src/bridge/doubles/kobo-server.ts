/**
 * The Kobo double's request pipeline: fault injection first, then what kpi's
 * middleware does before any view (the removed v1 API, OpenRosa's
 * trailing-slash 404, Django's APPEND_SLASH redirect), then authentication
 * and the endpoint. Every reply is written in one place and logged.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FaultInjector } from "./faults.js";
import { errorReply, jsonReply, negotiate, noRouteReply, textReply, type ApiRequest, type KoboReply } from "./kobo-http.js";
import { handleSubmission, OPENROSA_XML } from "./kobo-openrosa.js";
import { routeV2 } from "./kobo-routes.js";
import type { KoboStore } from "./kobo-submissions.js";

/** What the pipeline reads from the double; `token` is read per request so revocation takes effect at once. */
export interface PipelineDeps {
  readonly store: KoboStore;
  readonly maxPageSize: number;
  readonly username: string;
  readonly now: () => Date;
  readonly token: () => string | null;
  readonly faults: FaultInjector;
  readonly requests: { method: string; path: string; status: number }[];
  /** "127.0.0.1:port", for a request without a Host header. */
  readonly fallbackHost: () => string;
}

/** kobo-docker's nginx client_max_body_size. */
const MAX_BODY_BYTES = 100 * 1024 * 1024;
const OPENROSA_TRAILING_SLASH = /^(\/[^/]+)?\/(submission|formList)\/+$/;
/** `/submission` and `/<username>/submission` (authenticated the same way here). */
const SUBMISSION_PATH = /^(\/[^/]+)?\/submission$/;
const NO_CREDENTIALS = "Authentication credentials were not provided.";
const V1_GONE = "The V1 API has been removed. Please read the migration article at https://support.kobotoolbox.org/migrating_api.html";

type Auth = { readonly user: string } | { readonly failure: string };

/** The node:http request listener of one double. */
export function createPipeline(deps: PipelineDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://placeholder");
    res.on("finish", () => deps.requests.push({ method, path: url.pathname, status: res.statusCode }));
    try {
      if (await deps.faults.intercept(req, res)) return;
      const body = await readBody(req);
      const origin = `http://${req.headers.host ?? deps.fallbackHost()}`;
      const apiReq: ApiRequest = { method, path: url.pathname, query: url.searchParams, origin, headers: req.headers };
      writeReply(res, body === null ? textReply(413, "<h1>413 Request Entity Too Large</h1>", "text/html") : await route(deps, apiReq, body));
    } catch (e) {
      if (!res.headersSent) writeReply(res, textReply(500, `<h1>Server Error (500)</h1><pre>${String(e)}</pre>`, "text/html"));
      else res.destroy();
    }
  };
}

async function route(deps: PipelineDeps, req: ApiRequest, body: Uint8Array): Promise<KoboReply> {
  if (/^\/api\/v1(\/|$)/.test(req.path)) return jsonReply(410, { detail: V1_GONE });
  if (OPENROSA_TRAILING_SLASH.test(req.path)) {
    const target = req.path.replace(/\/+$/, "");
    return textReply(404, `OpenRosa endpoints do not accept a trailing slash. Retry the request at ${target}`, "text/html; charset=utf-8");
  }
  if (SUBMISSION_PATH.test(req.path)) return routeSubmission(deps, req, body);
  if (!req.path.startsWith("/api/v2/")) return noRouteReply(req.path);
  const slashed = appendSlash(req);
  if (slashed) return slashed;
  const auth = authenticate(deps, req.headers.authorization);
  // kpi's SessionAuthentication comes first and names "Session", which makes DRF answer 401 rather than 403.
  if ("failure" in auth) return jsonReply(401, { detail: auth.failure }, { "www-authenticate": "Session" });
  return routeV2({ store: deps.store, maxPageSize: deps.maxPageSize }, req);
}

async function routeSubmission(deps: PipelineDeps, req: ApiRequest, body: Uint8Array): Promise<KoboReply> {
  const auth = authenticate(deps, req.headers.authorization);
  if ("failure" in auth) return errorReply(401, { detail: auth.failure }, negotiate(req, "xml"), { "www-authenticate": digestChallenge() }, OPENROSA_XML);
  if (req.method !== "HEAD" && req.method !== "POST") return jsonReply(405, { detail: `Method "${req.method}" not allowed.` });
  return handleSubmission({ store: deps.store, now: deps.now }, req, body, auth.user);
}

/** DRF's Token authentication (Basic and Digest always fail: the double knows no passwords). */
function authenticate(deps: PipelineDeps, header: string | undefined): Auth {
  const parts = (header ?? "").trim().split(/\s+/).filter((p) => p !== "");
  const scheme = parts[0]?.toLowerCase();
  if (scheme === "token") {
    if (parts.length === 1) return { failure: "Invalid token header. No credentials provided." };
    if (parts.length > 2) return { failure: "Invalid token header. Token string should not contain spaces." };
    return parts[1] === deps.token() ? { user: deps.username } : { failure: "Invalid token." };
  }
  if (scheme === "basic") return { failure: "Invalid username/password." };
  if (scheme === "digest") return { failure: "Invalid username/password" };
  return { failure: NO_CREDENTIALS };
}

/** Django's APPEND_SLASH: a GET without the trailing slash is redirected (before any authentication). */
function appendSlash(req: ApiRequest): KoboReply | undefined {
  if (req.path.endsWith("/") || /\/data\.(json|xml)$/.test(req.path)) return undefined;
  if (req.method !== "GET" && req.method !== "HEAD") return noRouteReply(req.path);
  const query = req.query.toString();
  return textReply(301, "", "text/html; charset=utf-8", { location: `${req.origin}${req.path}/${query === "" ? "" : `?${query}`}` });
}

/** A django_digest-style challenge, so Digest clients can start the handshake. */
function digestChallenge(): string {
  const hex = (n: number): string => randomBytes(n).toString("hex");
  return `Digest nonce="${hex(16)}", realm="DJANGO", stale="false", opaque="${hex(16)}", algorithm="MD5", qop="auth"`;
}

/** The whole body, or null past nginx's limit (the rest is drained). */
async function readBody(req: IncomingMessage): Promise<Uint8Array | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size > MAX_BODY_BYTES ? null : new Uint8Array(Buffer.concat(chunks));
}

function writeReply(res: ServerResponse, reply: KoboReply): void {
  res.writeHead(reply.status, reply.headers);
  res.end(reply.body);
}
