/**
 * REST routes for submissions, their versions and attachments
 * (central-backend lib/resources/submissions.js). The gotchas are kept:
 * POST ignores meta/deprecatedID (a new logical submission), PUT demands it
 * and it must name the current version (400.19 / 409.9), a version's
 * instanceID asked for as if it were the logical id redirects (301) to
 * `…/submissions/{logical}/versions/{id}`.
 */
import { createHash } from "node:crypto";
import { createdSubmissionJson, patchedSubmissionJson, submissionJson, versionJson } from "./odk-api-shapes.js";
import { json, success, withEtag, xml, type OdkAuth, type OdkReply, type OdkRequest, type OdkRoute } from "./odk-http.js";
import { parseEnvelope } from "./odk-instances.js";
import { currentDef, type OdkForm, type OdkSubmission } from "./odk-model.js";
import { problems } from "./odk-problems.js";
import { isTrue, projectIdOf } from "./odk-rest.js";
import type { OdkStore, Provenance } from "./odk-store.js";

const SUBS = String.raw`/projects/([^/]+)/forms/([^/]+)/submissions`;
const re = (s: string): RegExp => new RegExp(`^${s}$`);

/** Submissions, versions and attachments of published forms. */
export function submissionRoutes(store: OdkStore): OdkRoute[] {
  const form = (params: readonly string[]): OdkForm => store.form(projectIdOf(params[0]), params[1] ?? "");
  const live = (params: readonly string[]): [OdkForm, OdkSubmission] => {
    const f = form(params);
    return [f, store.submission(f, params[2] ?? "")];
  };
  const extended = (req: OdkRequest): boolean => isTrue(req.headers["x-extended-metadata"]);
  return [
    { method: "GET", pattern: re(SUBS), handler: (req, params) => list(store, req, form(params)) },
    { method: "POST", pattern: re(SUBS), handler: (req, params, auth) => create(store, req, params, auth) },
    { method: "GET", pattern: re(`${SUBS}/([^/]+?)\\.xml`), handler: (req, params) => orRedirect(store, req, params, (s) => xml(currentDef(s).xml)) },
    { method: "GET", pattern: re(`${SUBS}/([^/]+)`), handler: (req, params) => orRedirect(store, req, params, (s) => json(submissionJson(store, s, extended(req)))) },
    { method: "PUT", pattern: re(`${SUBS}/([^/]+)`), handler: (req, params, auth) => edit(store, req, params, auth) },
    {
      method: "PATCH", pattern: re(`${SUBS}/([^/]+)`), handler: (req, params) => {
        const [, sub] = live(params);
        const body = typeof req.json === "object" && req.json !== null ? (req.json as Record<string, unknown>) : {};
        if ("reviewState" in body) store.setReviewState(sub, typeof body.reviewState === "string" ? body.reviewState : null);
        return json(patchedSubmissionJson(sub));
      },
    },
    { method: "DELETE", pattern: re(`${SUBS}/([^/]+)`), handler: (_req, params) => { store.deleteSubmission(live(params)[1]); return success(); } },
    { method: "POST", pattern: re(`${SUBS}/([^/]+)/restore`), handler: (_req, params) => { store.restoreSubmission(form(params), params[2] ?? ""); return success(); } },
    {
      method: "GET", pattern: re(`${SUBS}/([^/]+)/versions`), handler: (req, params) => {
        const [, sub] = live(params);
        const current = currentDef(sub);
        return json([...sub.defs].reverse().map((d) => versionJson(store, d, d === current, extended(req))));
      },
    },
    { method: "GET", pattern: re(`${SUBS}/([^/]+)/versions/([^/]+?)\\.xml`), handler: (_req, params) => xml(version(live(params)[1], params[3]).xml) },
    {
      method: "GET", pattern: re(`${SUBS}/([^/]+)/versions/([^/]+)`), handler: (req, params) => {
        const [, sub] = live(params);
        const def = version(sub, params[3]);
        return json(versionJson(store, def, def === currentDef(sub), extended(req)));
      },
    },
    {
      method: "GET", pattern: re(`${SUBS}/([^/]+)/attachments`), handler: (_req, params) => {
        const names = [...currentDef(live(params)[1]).attachments.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return json(names.map(([name, blob]) => ({ name, exists: blob !== null })));
      },
    },
    { method: "GET", pattern: re(`${SUBS}/([^/]+)/attachments/([^/]+)`), handler: (req, params) => download(req, live(params)[1], params[3] ?? "") },
    {
      method: "POST", pattern: re(`${SUBS}/([^/]+)/attachments/([^/]+)`), handler: (req, params) => {
        const name = params[3] ?? "";
        store.attach(live(params)[1], name, req.body, req.headers["content-type"] ?? defaultMimetype(name));
        return success();
      },
    },
    {
      method: "DELETE", pattern: re(`${SUBS}/([^/]+)/attachments/([^/]+)`), handler: (_req, params) => {
        const atts = currentDef(live(params)[1]).attachments;
        if (!atts.has(params[3] ?? "")) throw problems.notFound();
        atts.set(params[3] ?? "", null);
        return success();
      },
    },
  ];
}

function version(sub: OdkSubmission, instanceId: string | undefined) {
  const def = sub.defs.find((d) => d.instanceId === instanceId);
  if (def === undefined) throw problems.notFound();
  return def;
}

function provenance(req: OdkRequest, auth: OdkAuth): Provenance {
  const ua = req.headers["user-agent"];
  return { actor: auth.actor, deviceId: req.query.get("deviceID"), userAgent: typeof ua === "string" ? ua : null };
}

/** GET …/submissions: every submission (no paging unless ?limit/?offset), newest first; `?deleted=true` lists only deleted ones. */
function list(store: OdkStore, req: OdkRequest, form: OdkForm): OdkReply {
  const deleted = isTrue(req.query.get("deleted"));
  const int = (name: string): number | undefined => {
    const raw = req.query.get(name);
    if (raw === null) return undefined;
    const n = parseInt(raw, 10);
    if (Number.isNaN(n)) throw problems.invalidDataType(name, "integer");
    return n;
  };
  const offset = int("offset") ?? 0;
  const limit = int("limit");
  const subs = store.submissionsOf(form)
    .filter((s) => (s.deletedAt !== null) === deleted)
    .sort((a, b) => b.createdAt - a.createdAt || b.id - a.id)
    .slice(offset, limit === undefined ? undefined : offset + limit);
  const body = JSON.stringify(subs.map((s) => submissionJson(store, s, isTrue(req.headers["x-extended-metadata"]))));
  return withEtag(req, createHash("md5").update(body).digest("hex"), true, () => json(JSON.parse(body)));
}

/** POST …/submissions: the XML's version must be published (404.6), its form id must be the URL's (400.8). */
function create(store: OdkStore, req: OdkRequest, params: readonly string[], auth: OdkAuth): OdkReply {
  const env = parseEnvelope(req.body.toString("utf8"));
  const form = store.form(projectIdOf(params[0]), params[1] ?? "");
  store.formDefFor(form, env.version);
  if (env.xmlFormId !== form.xmlFormId) throw problems.unexpectedValue("form id", env.xmlFormId, "did not match the form ID in the URL");
  return json(createdSubmissionJson(store.createSubmission(form, env, provenance(req, auth))));
}

/** PUT …/submissions/{id}: a new version replacing the current one. */
function edit(store: OdkStore, req: OdkRequest, params: readonly string[], auth: OdkAuth): OdkReply {
  const env = parseEnvelope(req.body.toString("utf8"));
  if (env.xmlFormId !== params[1]) throw problems.unexpectedValue("form id", env.xmlFormId, "did not match the form ID in the URL");
  if (env.deprecatedId === null) throw problems.expectedDeprecation();
  const form = store.form(projectIdOf(params[0]), params[1]);
  const sub = store.submission(form, params[2] ?? "");
  return json(submissionJson(store, store.createVersion(form, sub, env, provenance(req, auth))));
}

/** A live submission by logical id, or a 301 to the version resource when the id is a later version's instanceID. */
function orRedirect(store: OdkStore, req: OdkRequest, params: readonly string[], then: (s: OdkSubmission) => OdkReply): OdkReply {
  const form = store.form(projectIdOf(params[0]), params[1] ?? "");
  const id = params[2] ?? "";
  const sub = store.submissionsOf(form).find((s) => s.instanceId === id && s.deletedAt === null);
  if (sub !== undefined) return then(sub);
  const owner = store.submissionsOf(form).find((s) => s.deletedAt === null && s.defs.some((d) => d.instanceId === id));
  if (owner === undefined) throw problems.notFound();
  const [path = "", search] = req.target.split("?");
  const suffix = path.endsWith(".xml") ? ".xml" : "";
  const base = path.slice(0, path.lastIndexOf("/submissions/"));
  const location = `${base}/submissions/${encodeURIComponent(owner.instanceId)}/versions/${encodeURIComponent(id)}${suffix}${search === undefined ? "" : `?${search}`}`;
  return { status: 301, headers: { location } };
}

function download(req: OdkRequest, sub: OdkSubmission, name: string): OdkReply {
  const blob = currentDef(sub).attachments.get(name);
  if (blob === undefined || blob === null) throw problems.notFound();
  return withEtag(req, blob.md5, false, () => ({
    status: 200,
    headers: { "content-type": blob.contentType, "content-disposition": `attachment; filename="${name.replace(/"/g, "")}"` },
    body: blob.content,
  }));
}

/** What Central assumes when an upload comes without a Content-Type. */
export function defaultMimetype(name: string): string {
  const ext = name.slice(name.lastIndexOf(".") + 1).toLowerCase();
  const known: Record<string, string> = { jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", gif: "image/gif", mp3: "audio/mpeg", mp4: "video/mp4", csv: "text/csv" };
  return known[ext] ?? "application/octet-stream";
}
