/**
 * REST routes for sessions, users, projects and forms (central-backend
 * lib/resources/{sessions,users,projects,forms}.js). Paths are relative to
 * `/v1`; every route but `POST /sessions` runs after authentication.
 */
import { actorJson, formJson, projectJson } from "./odk-api-shapes.js";
import { fieldsForApi } from "./odk-forms.js";
import { json, success, xml, type OdkReply, type OdkRequest, type OdkRoute } from "./odk-http.js";
import { currentFormDef, isoOf, type OdkForm, type OdkFormDef } from "./odk-model.js";
import { problems } from "./odk-problems.js";
import type { OdkStore } from "./odk-store.js";

/** Central's isTrue for query strings and headers. */
export function isTrue(value: string | string[] | null | undefined): boolean {
  return value === "true";
}

/** The project id segment; a non-number finds nothing. */
export function projectIdOf(segment: string | undefined): number {
  const id = Number(segment);
  if (!Number.isInteger(id)) throw problems.notFound();
  return id;
}

const FORM = String.raw`/projects/([^/]+)/forms/([^/]+?)`;
const re = (s: string): RegExp => new RegExp(`^${s}$`);

/** Sessions, users, projects, forms and form versions. */
export function restRoutes(store: OdkStore): OdkRoute[] {
  const form = (params: readonly string[]): OdkForm => store.form(projectIdOf(params[0]), params[1] ?? "");
  const version = (f: OdkForm, v: string | undefined): OdkFormDef => {
    const def = f.defs.find((d) => d.version === v);
    if (def === undefined) throw problems.notFound();
    return def;
  };
  const extended = (req: OdkRequest): boolean => isTrue(req.headers["x-extended-metadata"]);
  const fields = (req: OdkRequest, def: OdkFormDef) => json(fieldsForApi(def.fields, isTrue(req.query.get("odata"))));
  return [
    { method: "POST", pattern: re("/sessions"), anonymous: true, handler: (req) => login(store, req) },
    {
      method: "DELETE", pattern: re("/sessions/current"), handler: (_req, _p, auth) => {
        if (auth.session === null) throw problems.notFound();
        store.sessions.delete(auth.session.token);
        return success();
      },
    },
    {
      method: "DELETE", pattern: re("/sessions/([^/]+)"), handler: (_req, params) => {
        const session = store.sessionFor(params[0] ?? "");
        if (session === undefined) throw problems.insufficientRights(); // even for unknown tokens, so as not to leak which exist
        store.sessions.delete(session.token);
        return success();
      },
    },
    {
      method: "GET", pattern: re("/users/current"), handler: (_req, _p, auth) => {
        const user = store.users.find((u) => u.actor.id === auth.actor.id);
        if (user === undefined) throw problems.notFound();
        return json({ ...actorJson(user.actor), email: user.email });
      },
    },
    {
      method: "GET", pattern: re("/projects"), handler: (req) => json([...store.projects.values()].map((p) => isTrue(req.query.get("forms"))
        ? { ...projectJson(p), formList: formsOf(store, p.id).map((f) => formJson(store, f, { extended: true })) }
        : projectJson(p))),
    },
    { method: "GET", pattern: re("/projects/([^/]+)"), handler: (_req, params) => json(projectJson(store.project(projectIdOf(params[0])))) },
    {
      method: "GET", pattern: re("/projects/([^/]+)/forms"), handler: (req, params) => {
        const projectId = projectIdOf(params[0]);
        store.project(projectId);
        return json(formsOf(store, projectId).map((f) => formJson(store, f, { extended: extended(req) })));
      },
    },
    { method: "GET", pattern: re(`${FORM}\\.xml`), handler: (_req, params) => xml(currentFormDef(form(params)).xml) },
    { method: "GET", pattern: re(FORM), handler: (req, params) => json(formJson(store, form(params), { extended: extended(req) })) },
    { method: "GET", pattern: re(`${FORM}/fields`), handler: (req, params) => fields(req, currentFormDef(form(params))) },
    {
      method: "GET", pattern: re(`${FORM}/versions`), handler: (_req, params) => {
        const f = form(params);
        return json([...f.defs].reverse().map((def) => formJson(store, f, { def })));
      },
    },
    { method: "GET", pattern: re(`${FORM}/versions/([^/]+?)\\.xml`), handler: (_req, params) => xml(version(form(params), params[2]).xml) },
    { method: "GET", pattern: re(`${FORM}/versions/([^/]+)`), handler: (_req, params) => { const f = form(params); return json(formJson(store, f, { def: version(f, params[2]) })); } },
    { method: "GET", pattern: re(`${FORM}/versions/([^/]+)/fields`), handler: (req, params) => fields(req, version(form(params), params[2])) },
  ];
}

function formsOf(store: OdkStore, projectId: number): OdkForm[] {
  const label = (f: OdkForm): string => currentFormDef(f).name ?? f.xmlFormId;
  return store.forms.filter((f) => f.projectId === projectId).sort((a, b) => label(a).localeCompare(label(b)));
}

/** POST /sessions: 400.3 without both fields, 401.2 for wrong credentials, else the new session. */
function login(store: OdkStore, req: OdkRequest): OdkReply {
  const body = typeof req.json === "object" && req.json !== null ? (req.json as Record<string, unknown>) : {};
  const { email, password } = body;
  const blank = (v: unknown): boolean => typeof v !== "string" || v.trim() === "";
  if (blank(email) || blank(password)) throw problems.missingParameters(["email", "password"], { email, password });
  const user = store.users.find((u) => u.email === email);
  if (user === undefined || user.password !== password) throw problems.authenticationFailed();
  const s = store.createSession(user.actor);
  const expires = new Date(Math.floor(s.expiresAt / 1000)).toUTCString();
  return {
    ...json({ token: s.token, csrf: s.csrf, expiresAt: isoOf(s.expiresAt), createdAt: isoOf(s.createdAt) }),
    headers: {
      "content-type": "application/json; charset=utf-8",
      // Central also sets this (and a __csrf cookie); it is only honoured over HTTPS, so clients must not rely on it.
      "set-cookie": `session=${encodeURIComponent(s.token)}; Path=/; Expires=${expires}; HttpOnly; SameSite=Strict`,
    },
  };
}
