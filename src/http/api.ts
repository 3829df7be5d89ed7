/**
 * The HTTP API of a site (express): read endpoints for the admin page and
 * scripts, write endpoints that need the config's token, Prometheus metrics,
 * and the admin page itself. Every input is validated with zod; every error
 * is a JSON body with a message (http-error.ts).
 */
import { timingSafeEqual } from "node:crypto";
import { fileURLToPath } from "node:url";
import express, { type Express, type Request, type RequestHandler } from "express";
import { z } from "zod";
import { parseAuthorId, recordId, type AuthorId } from "../engine/ids.js";
import { conflictCount, listRecords, MAX_PAGE, recentEvents, recordConflicts, recordHistory } from "../engine/store/store-queries.js";
import type { Logger } from "../log/logger.js";
import type { Site } from "../service/site.js";
import { attentionLines, readAttention } from "../service/site-attention.js";
import { peersOf, radioOf, siteSummary, syncOf } from "../service/site-status.js";
import { errorHandler, HttpError, notFound } from "./http-error.js";
import { mountImport } from "./import-route.js";
import { conflictJson, eventJson, recordJson, type AuthorNames } from "./json-view.js";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.js";

/** The admin page's files (HTML, script, style; no build step), copied beside this module by `npm run build`. */
export const ADMIN_DIR = fileURLToPath(new URL("./admin/", import.meta.url));

/**
 * The admin page loads only its own files and talks only to this API: no
 * inline script, nothing from elsewhere (it must work offline, and a record's
 * text can never run as code even if a rendering bug let it into the page).
 */
export const ADMIN_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Largest JSON body a write endpoint accepts: they take a few options at most. */
export const JSON_BODY_LIMIT = "16kb";

export interface ApiOptions {
  readonly site: Site;
  readonly log: Logger;
  /** Write endpoints need `Authorization: Bearer <token>`; without a token they are refused. */
  readonly token?: string;
  /** Extra routes (e.g. bundle import) mounted before the 404 handler. */
  readonly extend?: (app: Express, requireToken: RequestHandler) => void;
}

/** What GET /api lists: every endpoint and what it answers. */
export const ENDPOINTS: readonly { method: string; path: string; token?: boolean; what: string }[] = [
  { method: "GET", path: "/api/health", what: "200 while the site runs (503 while it starts or stops), with anything that needs attention" },
  { method: "GET", path: "/api/status", what: "site, uptime, versions, server, store, outbox, forms, links, attention" },
  { method: "GET", path: "/api/peers", what: "stations heard: last heard, RSSI, SNR, how far behind or ahead" },
  { method: "GET", path: "/api/sync", what: "the frontier per author and the stations heard" },
  { method: "GET", path: "/api/records?type=&after=&limit=", what: "records in id order, a page at a time (next: the `after` of the next page)" },
  { method: "GET", path: "/api/records/:id", what: "one record with its history and its conflicts" },
  { method: "GET", path: "/api/events?author=&limit=", what: "the newest events, of one author or all" },
  { method: "GET", path: "/api/conflicts?limit=", what: "writes that lost a concurrent race (the conflict log)" },
  { method: "GET", path: "/api/outbox?state=pending|written|failed&limit=", what: "write-back entries and why they failed" },
  { method: "GET", path: "/api/radio", what: "per link: settings, duty cycle, airtime used against the budget per minute" },
  { method: "GET", path: "/api/mappings", what: "the record types and the forms they map" },
  { method: "POST", path: "/api/poll", token: true, what: "poll the local server and write back now" },
  { method: "POST", path: "/api/outbox/retry", token: true, what: "make every failed write-back due again" },
  { method: "POST", path: "/api/import?name=", token: true, what: "import a bundle (the file as an application/octet-stream body)" },
  { method: "GET", path: "/metrics", what: "Prometheus metrics" },
];

const limit = (max: number, def: number) => z.coerce.number({ message: "use a whole number" }).int("use a whole number").min(1, "use at least 1").max(max, `use at most ${max}`).default(def);

function query<T>(schema: z.ZodType<T>, req: Request): T {
  const r = schema.safeParse(req.query);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new HttpError(400, `query parameter ${issue?.path.join(".") || "(query)"}: ${issue?.message ?? "invalid"}`);
}

const recordsQuery = z.object({ type: z.string().min(1).max(128).optional(), after: z.string().max(512).optional(), limit: limit(MAX_PAGE, 100) }).strict();
const eventsQuery = z.object({ author: z.string().optional(), limit: limit(MAX_PAGE, 50) }).strict();
const outboxQuery = z.object({ state: z.enum(["pending", "written", "failed"], { message: "use pending, written or failed" }).default("pending"), limit: limit(MAX_PAGE, 100) }).strict();
const conflictsQuery = z.object({ limit: limit(MAX_PAGE, 100) }).strict();

function tokenGuard(token: string | undefined): RequestHandler {
  const expected = token ? Buffer.from(token, "utf8") : null;
  return (req, _res, next) => {
    if (!expected) throw new HttpError(403, "write endpoints are off: set http.token in the site's config to use them");
    const header = req.get("authorization") ?? "";
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m) throw new HttpError(401, "this endpoint needs the token: send the header `Authorization: Bearer <http.token>`");
    const given = Buffer.from(m[1] as string, "utf8");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new HttpError(403, "wrong token");
    next();
  };
}

function authorNames(site: Site): AuthorNames {
  const names = new Map<AuthorId, string | null>(site.store.members().map((m) => [m.author, m.name]));
  names.set(site.signer.author, site.config.site.name);
  return (a) => names.get(a) ?? null;
}

export function createApi(o: ApiOptions): Express {
  const { site } = o;
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  const requireToken = tokenGuard(o.token);
  const json = express.json({ limit: JSON_BODY_LIMIT });

  // No redirects to add a slash and no byte ranges (whose refusals are not JSON): the page is a few small files in one folder.
  app.use(express.static(ADMIN_DIR, { index: "index.html", maxAge: 0, redirect: false, acceptRanges: false, setHeaders: (res) => res.setHeader("Content-Security-Policy", ADMIN_CSP) }));
  app.get("/api", (_req, res) => void res.json({ endpoints: ENDPOINTS }));
  // Polled often (docker's healthcheck, monitoring): only what the answer needs, not the whole status summary.
  app.get("/api/health", (_req, res) => {
    const readings = readAttention(site);
    const running = site.running();
    res.status(running ? 200 : 503).json({ ok: running, site: site.config.site.name, server: readings.server.state, attention: attentionLines(readings, Date.now()) });
  });
  app.get("/api/status", (_req, res) => void res.json(siteSummary(site)));
  app.get("/api/peers", (_req, res) => void res.json({ peers: peersOf(site) }));
  app.get("/api/sync", (_req, res) => void res.json(syncOf(site)));
  app.get("/api/radio", (_req, res) => void res.json(radioOf(site)));
  app.get("/api/mappings", (_req, res) => {
    const forms = site.bridge.status().forms;
    res.json({ mappings: site.config.mappings.map((m) => ({ ...m, form: forms.find((f) => f.type === m.type)?.describe ?? null })) });
  });
  app.get("/api/records", (req, res) => {
    const q = query(recordsQuery, req);
    const page = listRecords(site.store, { limit: q.limit, ...(q.type ? { type: q.type } : {}), ...(q.after ? { after: q.after } : {}) });
    const names = authorNames(site);
    res.json({ records: page.records.map((r) => recordJson(r, names, site.bridge.fieldTypes(r.type))), next: page.next });
  });
  app.get("/api/records/:id", (req, res) => {
    const id = recordId(String(req.params.id));
    const state = site.store.getRecord(id);
    if (!state) throw new HttpError(404, `no record with id ${JSON.stringify(id).slice(0, 200)}`);
    const names = authorNames(site);
    res.json({
      record: recordJson(state, names, site.bridge.fieldTypes(state.type)),
      history: recordHistory(site.store, id).map((e) => eventJson(e, names)),
      conflicts: recordConflicts(site.store, id).map((c) => conflictJson(c, names)),
    });
  });
  app.get("/api/events", (req, res) => {
    const q = query(eventsQuery, req);
    let author: AuthorId | undefined;
    if (q.author !== undefined) {
      author = parseAuthorId(q.author);
      if (!author) throw new HttpError(400, "query parameter author: use an author id (64 hex characters, see /api/sync)");
    }
    const names = authorNames(site);
    res.json({ events: recentEvents(site.store, { limit: q.limit, ...(author ? { author } : {}) }).map((e) => eventJson(e, names)) });
  });
  app.get("/api/conflicts", (req, res) => {
    const q = query(conflictsQuery, req);
    const names = authorNames(site);
    res.json({ total: conflictCount(site.store), conflicts: site.store.newestConflicts(q.limit).map((c) => conflictJson(c, names)) });
  });
  app.get("/api/outbox", (req, res) => {
    const q = query(outboxQuery, req);
    res.json({ counts: site.bridge.status().outbox, state: q.state, entries: site.bridge.outbox(q.state, q.limit) });
  });
  app.get("/metrics", (_req, res) => void res.type(METRICS_CONTENT_TYPE).send(renderMetrics(site)));

  app.post("/api/poll", requireToken, json, async (_req, res) => {
    const done = await site.pollNow();
    if (!done) throw new HttpError(409, `the form server is not open yet: ${site.server().error ?? "still starting"}`);
    res.json({ ok: true, forms: siteSummary(site).forms });
  });
  app.post("/api/outbox/retry", requireToken, json, (_req, res) => {
    const retried = site.bridge.retryOutbox();
    void site.pollNow();
    res.json({ ok: true, retried });
  });
  mountImport(app, requireToken, site, o.log);
  o.extend?.(app, requireToken);
  app.use(notFound);
  app.use(errorHandler(o.log));
  return app;
}
