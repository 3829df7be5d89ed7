/**
 * ODK Central over HTTP (../shared/facts/odk-central-api.md): a User session
 * (`POST /v1/sessions`, Bearer token) renewed before it expires and once on a
 * 401; OData for reading, REST for writing. App Users cannot read
 * submissions, so the bridge needs a User with the project's manager role.
 * Every call returns a Result; nothing here retries except that one re-login.
 * A login Central refuses (401: the password changed, the user deleted) is
 * not asked again for AUTH_PAUSE_MS: every call meanwhile fails with it, so
 * polls and writes never turn into a stream of logins (each a bcrypt at
 * Central). A restart (a new client) logs in at once.
 */
import { z } from "zod";
import { AUTH_PAUSE_MS } from "./constants.js";
import { createHttpClient, type HttpFile, type HttpOutcome, type HttpRequest, type HttpResponse } from "./http-client.js";
import { classifyFailure, excerpt, fail, ok, parseJson, type Result, type UpstreamError } from "./upstream.js";

export interface OdkClientOptions {
  /** Central's base URL, e.g. `https://central.example` (the API is under /v1). */
  readonly url: string;
  readonly email: string;
  readonly password: string;
  readonly timeoutMs: number;
  readonly now?: () => number;
}

/** Renew the session this long before Central says it expires (default lifetime 24 h). */
export const SESSION_RENEW_MARGIN_MS = 60 * 60 * 1000;

const sessionSchema = z.object({ token: z.string().min(1), expiresAt: z.string() });
const odataPageSchema = z.object({
  value: z.array(z.record(z.string(), z.unknown())),
  "@odata.nextLink": z.string().optional(),
});
const submissionSchema = z.object({
  instanceId: z.string(),
  deletedAt: z.string().nullable().optional(),
  currentVersion: z.object({ instanceId: z.string() }).passthrough().optional(),
});
const submissionListSchema = z.array(z.object({ instanceId: z.string() }).passthrough());
const attachmentListSchema = z.array(z.object({ name: z.string().min(1), exists: z.boolean() }).passthrough());

/** An attachment read from Central: its content, or "unchanged" (304) when it still has the ETag we sent. */
export type AttachmentDownload = { readonly kind: "unchanged" } | (HttpFile & { readonly etag: string | null });

export type ODataRow = Record<string, unknown>;
export type SubmissionMeta = z.infer<typeof submissionSchema>;

export interface OdkClient {
  readonly url: string;
  getProjects(): Promise<Result<unknown>>;
  getForms(project: number): Promise<Result<unknown>>;
  getForm(project: number, form: string): Promise<Result<unknown>>;
  getFormXml(project: number, form: string): Promise<Result<string>>;
  getFields(project: number, form: string, odata: boolean): Promise<Result<unknown>>;
  /** One page of OData rows; `next` is the nextLink rewritten onto our base URL (its host is Central's configured domain). */
  odataPage(urlOrPath: string): Promise<Result<{ rows: ODataRow[]; next: string | null }>>;
  /** Logical instanceIds of the form's soft-deleted submissions. */
  listDeleted(project: number, form: string): Promise<Result<string[]>>;
  /** A submission's metadata (null if there is none, or it is deleted). */
  getSubmission(project: number, form: string, instanceId: string): Promise<Result<SubmissionMeta | null>>;
  getSubmissionXml(project: number, form: string, instanceId: string): Promise<Result<string | null>>;
  createSubmission(project: number, form: string, xml: string): Promise<Result<SubmissionMeta>>;
  updateSubmission(project: number, form: string, instanceId: string, xml: string): Promise<Result<SubmissionMeta>>;
  deleteSubmission(project: number, form: string, instanceId: string): Promise<Result<"deleted" | "absent">>;
  restoreSubmission(project: number, form: string, instanceId: string): Promise<Result<"restored">>;
  /** The attachment slots of the current version (`GET …/attachments`): every name the XML references, with whether it is uploaded. */
  listAttachments(project: number, form: string, instanceId: string): Promise<Result<{ name: string; exists: boolean }[]>>;
  /** One attachment, hashed whole, at most `keepBytes` kept; `etag` is sent as If-None-Match. */
  downloadAttachment(project: number, form: string, instanceId: string, name: string, keepBytes: number, etag: string | null): Promise<Result<AttachmentDownload>>;
  /** `POST …/attachments/{name}` with the raw bytes; 404 when the current version's XML does not name the file. */
  uploadAttachment(project: number, form: string, instanceId: string, name: string, bytes: Uint8Array, mime: string): Promise<Result<void>>;
  close(): Promise<void>;
}

function odkDetail(res: HttpResponse): { message: string; code: number | null } {
  try {
    const j = JSON.parse(res.body.toString("utf8")) as { message?: unknown; code?: unknown };
    return {
      message: typeof j.message === "string" ? j.message : excerpt(res.body),
      code: typeof j.code === "number" ? j.code : null,
    };
  } catch {
    return { message: excerpt(res.body), code: null };
  }
}

/** Central's 401 to POST /v1/sessions (401.2 for a wrong password and for a deleted user alike), worded for the admin. */
function loginRefused(options: OdkClientOptions, res: HttpResponse): UpstreamError {
  return {
    kind: "auth",
    status: res.status,
    message: `ODK Central refused the login of ${options.email} (POST /v1/sessions: ${odkDetail(res).message}) at ${options.url}; `
      + "its password may have been changed or the user deleted there: check server.email and server.password in the config "
      + `(or the environment variables they name) and restart meshlogd; until then the login is tried every ${AUTH_PAUSE_MS / 60_000} minutes`,
  };
}

export function createOdkClient(options: OdkClientOptions): OdkClient {
  const http = createHttpClient({ baseUrl: options.url, timeoutMs: options.timeoutMs });
  const now = options.now ?? Date.now;
  const base = new URL(http.baseUrl);
  let session: { token: string; expiresAt: number } | null = null;
  /** The last refused login, answered to every call until `until`. */
  let refused: { error: UpstreamError; until: number } | null = null;
  /** The login in flight: calls that need a session at the same time (the write lanes) share it. */
  let loggingIn: Promise<Result<string>> | null = null;

  async function login(): Promise<Result<string>> {
    if (refused && now() < refused.until) return fail(refused.error);
    const out = await http.send({
      method: "POST",
      url: "/v1/sessions",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: options.email, password: options.password }),
    });
    if (out.kind === "response" && out.status === 401) {
      session = null;
      refused = { error: loginRefused(options, out), until: now() + AUTH_PAUSE_MS };
      return fail(refused.error);
    }
    if (out.kind !== "response" || out.status !== 200) return fail(classifyFailure("POST /v1/sessions", out, odkDetail));
    const parsed = parseJson("POST /v1/sessions", out, sessionSchema);
    if (!parsed.ok) return parsed;
    refused = null;
    const expiresAt = Date.parse(parsed.value.expiresAt);
    session = { token: parsed.value.token, expiresAt: Number.isFinite(expiresAt) ? expiresAt : now() + SESSION_RENEW_MARGIN_MS };
    return ok(session.token);
  }

  function token(): Promise<Result<string>> {
    if (session && session.expiresAt - now() > SESSION_RENEW_MARGIN_MS) return Promise.resolve(ok(session.token));
    loggingIn ??= login().finally(() => (loggingIn = null));
    return loggingIn;
  }

  /** Sends with the session; on a 401 logs in again once (the session may have been revoked or expired early). */
  function send(req: HttpRequest): Promise<Result<HttpOutcome>> {
    return authed(req, (r) => http.send(r));
  }

  async function authed<T extends HttpOutcome | HttpFile>(req: HttpRequest, run: (r: HttpRequest) => Promise<T>): Promise<Result<T>> {
    for (let attempt = 0; ; attempt++) {
      const t = await token();
      if (!t.ok) return t;
      const out = await run({ ...req, headers: { ...req.headers, authorization: `Bearer ${t.value}` } });
      if (out.kind === "response" && out.status === 401 && attempt === 0) {
        // Another lane may have logged in anew since this token was sent: drop only the session that was refused.
        if (session?.token === t.value) session = null;
        continue;
      }
      return ok(out);
    }
  }

  async function call<T>(req: HttpRequest, expect: number, schema: z.ZodType<T>): Promise<Result<T>> {
    const what = `${req.method} ${req.url}`;
    const sent = await send(req);
    if (!sent.ok) return sent;
    const out = sent.value;
    if (out.kind !== "response" || out.status !== expect) return fail(classifyFailure(what, out, odkDetail));
    return parseJson(what, out, schema);
  }

  async function text(path: string): Promise<Result<string | null>> {
    const sent = await send({ method: "GET", url: path });
    if (!sent.ok) return sent;
    const out = sent.value;
    if (out.kind === "response" && out.status === 404) return ok(null);
    if (out.kind !== "response" || out.status !== 200) return fail(classifyFailure(`GET ${path}`, out, odkDetail));
    const body = out.body.toString("utf8");
    if (!body.trimStart().startsWith("<")) return fail({ kind: "bad-response", message: `GET ${path}: the body is not XML: ${excerpt(out.body)}` });
    return ok(body);
  }

  const formPath = (p: number, f: string) => `/v1/projects/${p}/forms/${encodeURIComponent(f)}`;
  const subPath = (p: number, f: string, id: string) => `${formPath(p, f)}/submissions/${encodeURIComponent(id)}`;
  const xmlHeaders = { "content-type": "application/xml" };

  return {
    url: options.url,
    getProjects: () => call({ method: "GET", url: "/v1/projects" }, 200, z.unknown()),
    getForms: (p) => call({ method: "GET", url: `/v1/projects/${p}/forms` }, 200, z.unknown()),
    getForm: (p, f) => call({ method: "GET", url: formPath(p, f) }, 200, z.unknown()),
    async getFormXml(p, f) {
      const r = await text(`${formPath(p, f)}.xml`);
      if (!r.ok) return r;
      return r.value === null ? fail({ kind: "rejected", status: 404, code: 404.1, message: `form ${f} not found in project ${p}` }) : ok(r.value);
    },
    getFields: (p, f, odata) => call({ method: "GET", url: `${formPath(p, f)}/fields?odata=${odata}` }, 200, z.unknown()),

    async odataPage(urlOrPath) {
      const page = await call({ method: "GET", url: urlOrPath }, 200, odataPageSchema);
      if (!page.ok) return page;
      const link = page.value["@odata.nextLink"];
      let next: string | null = null;
      if (link) {
        // Central builds nextLink from its configured domain, not from the address we reached it by.
        const u = new URL(link, base);
        next = `${base.origin}${u.pathname}${u.search}`;
      }
      return ok({ rows: page.value.value, next });
    },

    async listDeleted(p, f) {
      const r = await call({ method: "GET", url: `${formPath(p, f)}/submissions?deleted=true` }, 200, submissionListSchema);
      return r.ok ? ok(r.value.map((s) => s.instanceId)) : r;
    },

    async getSubmission(p, f, id) {
      const sent = await send({ method: "GET", url: subPath(p, f, id) });
      if (!sent.ok) return sent;
      if (sent.value.kind === "response" && sent.value.status === 404) return ok(null);
      if (sent.value.kind !== "response" || sent.value.status !== 200) return fail(classifyFailure(`GET ${subPath(p, f, id)}`, sent.value, odkDetail));
      return parseJson(`GET ${subPath(p, f, id)}`, sent.value, submissionSchema);
    },

    getSubmissionXml: (p, f, id) => text(`${subPath(p, f, id)}.xml`),

    createSubmission: (p, f, xml) =>
      call({ method: "POST", url: `${formPath(p, f)}/submissions`, headers: xmlHeaders, body: xml }, 200, submissionSchema),

    updateSubmission: (p, f, id, xml) => call({ method: "PUT", url: subPath(p, f, id), headers: xmlHeaders, body: xml }, 200, submissionSchema),

    async deleteSubmission(p, f, id) {
      const sent = await send({ method: "DELETE", url: subPath(p, f, id) });
      if (!sent.ok) return sent;
      const out = sent.value;
      if (out.kind === "response" && out.status === 200) return ok("deleted");
      if (out.kind === "response" && out.status === 404) return ok("absent");
      return fail(classifyFailure(`DELETE ${subPath(p, f, id)}`, out, odkDetail));
    },

    async restoreSubmission(p, f, id) {
      const r = await call({ method: "POST", url: `${subPath(p, f, id)}/restore` }, 200, z.unknown());
      return r.ok ? ok("restored") : r;
    },

    listAttachments: (p, f, id) => call({ method: "GET", url: `${subPath(p, f, id)}/attachments` }, 200, attachmentListSchema),

    async downloadAttachment(p, f, id, name, keepBytes, etag) {
      const url = `${subPath(p, f, id)}/attachments/${encodeURIComponent(name)}`;
      const headers: Record<string, string> = etag ? { "if-none-match": etag } : {};
      const sent = await authed({ method: "GET", url, headers }, (r) => http.download(r, keepBytes));
      if (!sent.ok) return sent;
      const out = sent.value;
      if (out.kind === "response" && out.status === 304) return ok({ kind: "unchanged" });
      if (out.kind !== "file") return fail(classifyFailure(`GET ${url}`, out, odkDetail));
      const tag = out.headers["etag"];
      return ok({ ...out, etag: typeof tag === "string" ? tag : null });
    },

    async uploadAttachment(p, f, id, name, bytes, mime) {
      const url = `${subPath(p, f, id)}/attachments/${encodeURIComponent(name)}`;
      const r = await call({ method: "POST", url, headers: { "content-type": mime }, body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) }, 200, z.unknown());
      return r.ok ? ok(undefined) : r;
    },

    close: () => http.close(),
  };
}
