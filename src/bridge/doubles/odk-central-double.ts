/**
 * An in-process ODK Central (REST + OData under /v1) for tests and the demo,
 * built from central-backend's documented and coded behaviour: Bearer
 * sessions, projects, published forms, submissions with versions, review
 * states, soft deletion, attachments, and the OData feed with Central's
 * paging, filtering and typed rendering. Clients talk to it over real HTTP.
 * `@odata.context` / `@odata.nextLink` use `options.domain`, never the
 * listening address (as Central uses env.domain): clients rewrite the host.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { FaultInjector } from "./faults.js";
import { authenticate } from "./odk-auth.js";
import {
  isJsonContent, matchRoute, problemReply, readBody, sendReply,
  type OdkReply, type OdkRequest, type OdkRoute,
} from "./odk-http.js";
import { buildInstanceXml, parseEnvelope, readAnswers, type Answers } from "./odk-instances.js";
import { currentDef, currentFormDef, type OdkActor, type OdkForm, type OdkSubmission } from "./odk-model.js";
import { checkODataRequest, odataRoutes } from "./odk-odata.js";
import { OdkInternalError, OdkProblem, problems } from "./odk-problems.js";
import { restRoutes } from "./odk-rest.js";
import { defaultMimetype as guessType, submissionRoutes } from "./odk-rest-submissions.js";
import { OdkStore } from "./odk-store.js";

/** Central's default session lifetime (default.sessionLifetime, 86400 s). */
const DEFAULT_SESSION_LIFETIME_MS = 24 * 60 * 60 * 1000;
/** A deployment's env.domain; deliberately not where the double listens. */
const DEFAULT_DOMAIN = "http://central.local";
/** What the double's simulated devices and editors identify as. */
const COLLECT_DEVICE_ID = "collect:meshlogd-double";
const COLLECT_USER_AGENT = "org.odk.collect.android/v2025.3.1";
const ENKETO_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Enketo";

export interface OdkDoubleOptions {
  /** Web users who can log in (POST /v1/sessions); each is an administrator. */
  users: { email: string; password: string }[];
  /** Default 24 h, as Central's. */
  sessionLifetimeMs?: number;
  /** Central's env.domain, used in @odata.nextLink and @odata.context; default "http://central.local". */
  domain?: string;
  /** The server's clock; default the system clock. */
  now?: () => Date;
}

/** A media file as a client uploads it: named as the binary answer names it. */
export interface LocalFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Content-Type; Central guesses from the name's extension when absent. */
  readonly type?: string;
}

/** A running (or not yet started) double and the hooks tests use to act as devices and web users on it. */
export interface OdkCentralDouble {
  /** Listens on 127.0.0.1 (port 0: any free port); resolves to "http://127.0.0.1:PORT". */
  start(port?: number): Promise<string>;
  /** Closes the server and every open socket. */
  stop(): Promise<void>;
  /** The listening URL ("http://127.0.0.1:PORT"); empty before start() and after stop(). */
  readonly url: string;
  readonly faults: FaultInjector;
  /** Creates a project; returns its id. */
  addProject(name: string): number;
  /** Publishes an XForm (a new version if the form exists); returns its xmlFormId. Throws OdkProblem for what Central would reject. */
  addForm(projectId: number, xformXml: string): string;
  /**
   * Simulates a Collect/Enketo submission: answers are plain values keyed by
   * '/'-joined paths ("hh/size": "4"); repeats are arrays of records with keys
   * relative to the repeat ("members": [{ "name": "A", "age": "3" }]); values
   * as they would appear in the XML. Returns the instanceId ("uuid:…").
   */
  submitLocal(projectId: number, xmlFormId: string, answers: Record<string, unknown>, opts?: { instanceId?: string; files?: readonly LocalFile[] }): string;
  /**
   * Simulates a human edit: a new version (new instanceID, deprecatedID = the current one) with `patch` merged in (null removes an answer).
   * Media of the current version whose names the new XML still references are carried over; `files` add or replace uploads.
   */
  editLocal(projectId: number, xmlFormId: string, instanceId: string, patch: Record<string, unknown>, files?: readonly LocalFile[]): void;
  /** Collect sending a file after the XML (a later OpenRosa POST): uploads it to the current version; OdkProblem 404.1 if the XML does not name it. */
  attachLocal(projectId: number, xmlFormId: string, instanceId: string, file: LocalFile): void;
  /** The current version's attachment slots: name → the uploaded bytes, or null while expected but missing. */
  attachmentsOf(projectId: number, xmlFormId: string, instanceId: string): Map<string, Buffer | null>;
  /** As PATCH reviewState: also bumps updatedAt. */
  setReviewState(projectId: number, xmlFormId: string, instanceId: string, state: string | null): void;
  /** Soft delete (updatedAt untouched). */
  deleteLocal(projectId: number, xmlFormId: string, instanceId: string): void;
  /** Current (non-deleted) submissions: logical instanceId, current version's instanceID and XML, version count. */
  submissions(projectId: number, xmlFormId: string): { instanceId: string; currentInstanceId: string; xml: string; versions: number; reviewState: string | null }[];
  /** Every request answered or dropped, in order; `path` is the request target as sent (path and query); status 0 when dropped. */
  readonly requests: { method: string; path: string; status: number }[];
  /** Makes every existing session token invalid (as after expiry); the next call with one gets 401. */
  expireSessions(): void;
  /**
   * An admin changes a web user's password (from another session, `odk-cmd user-set-password` or a reset): every session
   * of the user ends, so its Bearer tokens answer 401.2, and POST /v1/sessions with the old password answers 401.2.
   * Throws OdkProblem 404.1 for an unknown email.
   */
  setPassword(email: string, password: string): void;
  /** An admin deletes a web user: its sessions end and its logins answer 401.2; its submissions stay. OdkProblem 404.1 if unknown. */
  deleteUser(email: string): void;
}

/** Creates a double; call start() to serve it. */
export function createOdkCentralDouble(options: OdkDoubleOptions): OdkCentralDouble {
  return new CentralDouble(options);
}

class CentralDouble implements OdkCentralDouble {
  readonly faults = new FaultInjector();
  readonly requests: { method: string; path: string; status: number }[] = [];
  private readonly store: OdkStore;
  private readonly routes: OdkRoute[];
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  private listening: string | null = null;
  private device: OdkActor | null = null;

  constructor(options: OdkDoubleOptions) {
    this.store = new OdkStore(options.now ?? (() => new Date()), options.sessionLifetimeMs ?? DEFAULT_SESSION_LIFETIME_MS);
    for (const u of options.users) this.store.addUser(u.email, u.password);
    const domain = options.domain ?? DEFAULT_DOMAIN;
    this.routes = [...odataRoutes(this.store, domain), ...submissionRoutes(this.store), ...restRoutes(this.store)];
  }

  get url(): string {
    return this.listening ?? "";
  }

  async start(port = 0): Promise<string> {
    const server = createServer((req, res) => void this.serve(req, res));
    server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("the ODK Central double did not get a TCP port");
    this.server = server;
    this.listening = `http://127.0.0.1:${address.port}`;
    return this.listening;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    this.listening = null;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on("close", () => this.requests.push({ method: req.method ?? "GET", path: req.url ?? "/", status: res.headersSent ? res.statusCode : 0 }));
    try {
      if (await this.faults.intercept(req, res)) return;
      sendReply(res, this.answer(req, await readBody(req)));
    } catch (e) {
      if (!res.headersSent) sendReply(res, problemReply(e));
    }
  }

  /** Central's request pipeline: /v1 prefix, JSON body parsing, routing, OData checks, authentication, handler, one error writer. */
  private answer(req: IncomingMessage, body: Buffer): OdkReply {
    let format: "json" | "xml" = "json";
    try {
      const request = parseRequest(req, body);
      const { route, params } = matchRoute(this.routes, request.method, request.path);
      format = route.odata ?? "json";
      if (route.odata !== undefined) checkODataRequest(request, route.odata);
      if (route.anonymous === true) return route.handler(request, params);
      return route.handler(request, params, authenticate(this.store, request));
    } catch (e) {
      if (!(e instanceof OdkProblem) && !(e instanceof OdkInternalError)) process.stderr.write(`ODK Central double: unexpected ${String(e instanceof Error ? e.stack : e)}\n`);
      return problemReply(e, format);
    }
  }

  addProject(name: string): number {
    return this.store.addProject(name).id;
  }

  addForm(projectId: number, xformXml: string): string {
    return this.store.publishForm(projectId, xformXml).xmlFormId;
  }

  submitLocal(projectId: number, xmlFormId: string, answers: Record<string, unknown>, opts: { instanceId?: string; files?: readonly LocalFile[] } = {}): string {
    const form = this.store.form(projectId, xmlFormId);
    const def = currentFormDef(form);
    const xml = buildInstanceXml(def.instance, def.fields, answers, { instanceId: opts.instanceId ?? `uuid:${randomUUID()}` });
    const by = { actor: this.deviceActor(), deviceId: COLLECT_DEVICE_ID, userAgent: COLLECT_USER_AGENT };
    const sub = this.store.createSubmission(form, parseEnvelope(xml), by);
    this.uploadExpected(sub, opts.files ?? []);
    return sub.instanceId;
  }

  /** OpenRosa ingest keeps the parts whose names the XML expects and drops the others. */
  private uploadExpected(sub: OdkSubmission, files: readonly LocalFile[]): void {
    const expected = currentDef(sub).attachments;
    for (const f of files) if (expected.has(f.name)) this.store.attach(sub, f.name, Buffer.from(f.bytes), f.type ?? guessType(f.name));
  }

  attachLocal(projectId: number, xmlFormId: string, instanceId: string, file: LocalFile): void {
    this.store.attach(this.live(projectId, xmlFormId, instanceId)[1], file.name, Buffer.from(file.bytes), file.type ?? guessType(file.name));
  }

  attachmentsOf(projectId: number, xmlFormId: string, instanceId: string): Map<string, Buffer | null> {
    const atts = currentDef(this.live(projectId, xmlFormId, instanceId)[1]).attachments;
    return new Map([...atts].map(([name, blob]) => [name, blob ? blob.content : null]));
  }

  editLocal(projectId: number, xmlFormId: string, instanceId: string, patch: Record<string, unknown>, files: readonly LocalFile[] = []): void {
    const [form, sub] = this.live(projectId, xmlFormId, instanceId);
    const def = currentFormDef(form);
    const current = currentDef(sub);
    const answers: Answers = readAnswers(current.xml, def.fields);
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete answers[k];
      else answers[k] = v;
    }
    const xml = buildInstanceXml(def.instance, def.fields, answers, { instanceId: `uuid:${randomUUID()}`, deprecatedId: current.instanceId });
    const editor = this.store.users[0]?.actor ?? this.deviceActor();
    this.store.createVersion(form, sub, parseEnvelope(xml), { actor: editor, deviceId: null, userAgent: ENKETO_USER_AGENT });
    this.uploadExpected(sub, files);
  }

  setReviewState(projectId: number, xmlFormId: string, instanceId: string, state: string | null): void {
    this.store.setReviewState(this.live(projectId, xmlFormId, instanceId)[1], state);
  }

  deleteLocal(projectId: number, xmlFormId: string, instanceId: string): void {
    this.store.deleteSubmission(this.live(projectId, xmlFormId, instanceId)[1]);
  }

  submissions(projectId: number, xmlFormId: string): { instanceId: string; currentInstanceId: string; xml: string; versions: number; reviewState: string | null }[] {
    const form = this.store.form(projectId, xmlFormId);
    return this.store.submissionsOf(form).filter((s) => s.deletedAt === null).map((s) => ({
      instanceId: s.instanceId, currentInstanceId: currentDef(s).instanceId, xml: currentDef(s).xml, versions: s.defs.length, reviewState: s.reviewState,
    }));
  }

  expireSessions(): void {
    const past = this.store.nowMicros() - 1;
    for (const s of this.store.sessions.values()) s.expiresAt = Math.min(s.expiresAt, past);
  }

  setPassword(email: string, password: string): void {
    this.store.setPassword(email, password);
  }

  deleteUser(email: string): void {
    this.store.deleteUser(email);
  }

  private live(projectId: number, xmlFormId: string, instanceId: string): [OdkForm, ReturnType<OdkStore["submission"]>] {
    const form = this.store.form(projectId, xmlFormId);
    return [form, this.store.submission(form, instanceId)];
  }

  /** The App User the simulated Collect devices submit as. */
  private deviceActor(): OdkActor {
    this.device ??= this.store.addActor("field_key", "Collect device");
    return this.device;
  }
}

function parseRequest(req: IncomingMessage, body: Buffer): OdkRequest {
  const target = req.url ?? "/";
  const version = /^\/v(\d+)(\/.*)$/.exec(target);
  if (version === null) throw problems.missingApiVersion();
  if (version[1] !== "1") throw problems.unexpectedApiVersion(version[1] ?? "");
  const rest = version[2] ?? "/";
  const q = rest.indexOf("?");
  const rawPath = q < 0 ? rest : rest.slice(0, q);
  const method = req.method ?? "GET";
  let parsed: unknown;
  if (isJsonContent(req.headers) && ["POST", "PUT", "PATCH"].includes(method) && body.length > 0) {
    const text = body.toString("utf8");
    try {
      parsed = JSON.parse(text);
    } catch {
      throw problems.unparseable("json", text.length);
    }
  }
  return {
    method, target, body, json: parsed, headers: req.headers,
    path: rawPath.length > 1 ? rawPath.replace(/\/$/, "") : rawPath,
    query: new URLSearchParams(q < 0 ? "" : rest.slice(q + 1)),
  };
}
