/**
 * The double's state and the rules Central enforces when it changes:
 * uniqueness of instance IDs, form versions, optimistic concurrency on
 * edits, soft deletion, review states, expected attachments. Every
 * rejection is the OdkProblem Central answers with.
 */
import { createHash, randomBytes } from "node:crypto";
import { childElements, parseXml, textOf, type XmlElement } from "../xml.js";
import { parseXForm, stripNamespaces, type OdkField } from "./odk-forms.js";
import type { SubmissionEnvelope } from "./odk-instances.js";
import {
  currentDef, currentFormDef, REVIEW_STATES,
  type Micros, type OdkActor, type OdkBlob, type OdkForm, type OdkFormDef, type OdkProject,
  type OdkSession, type OdkSubmission, type OdkSubmissionDef, type OdkUser,
} from "./odk-model.js";
import { OdkInternalError, problems } from "./odk-problems.js";

/** Who made a change and from where: the actor, `?deviceID=`, the User-Agent header. */
export interface Provenance {
  readonly actor: OdkActor;
  readonly deviceId: string | null;
  readonly userAgent: string | null;
}

/** All of the double's state; methods enforce Central's rules and throw its problems. */
export class OdkStore {
  readonly users: OdkUser[] = [];
  readonly sessions = new Map<string, OdkSession>();
  readonly projects = new Map<number, OdkProject>();
  readonly forms: OdkForm[] = [];
  readonly submissions: OdkSubmission[] = [];
  readonly actors = new Map<number, OdkActor>();
  private ids = { actor: 0, project: 0, form: 0, formDef: 0, submission: 0, def: 0 };
  private lastStamp = 0;
  private stampSeq = 0;

  constructor(
    private readonly now: () => Date,
    private readonly sessionLifetimeMs: number,
  ) {}

  /**
   * A clock_timestamp(): the clock's milliseconds plus a non-zero microsecond
   * part, strictly increasing even when the injected clock stands still.
   */
  stamp(): Micros {
    this.stampSeq += 1;
    const us = Math.max(this.now().getTime() * 1000 + 1 + (this.stampSeq % 997), this.lastStamp + 1);
    this.lastStamp = us;
    return us;
  }

  nowMicros(): Micros {
    return this.now().getTime() * 1000;
  }

  addActor(type: OdkActor["type"], displayName: string): OdkActor {
    const actor: OdkActor = { id: ++this.ids.actor, type, displayName, createdAt: this.stamp() };
    this.actors.set(actor.id, actor);
    return actor;
  }

  addUser(email: string, password: string): OdkUser {
    const user: OdkUser = { actor: this.addActor("user", email), email, password };
    this.users.push(user);
    return user;
  }

  createSession(actor: OdkActor): OdkSession {
    const createdAt = this.stamp();
    const session: OdkSession = { token: generateToken(), csrf: generateToken(), actor, createdAt, expiresAt: createdAt + this.sessionLifetimeMs * 1000 };
    this.sessions.set(session.token, session);
    return session;
  }

  /** A web user by email; 404.1 when there is none (or it was deleted), as Central's getByEmail + getOrNotFound. */
  user(email: string): OdkUser {
    const user = this.users.find((u) => u.email === email);
    if (user === undefined) throw problems.notFound();
    return user;
  }

  /**
   * A new password, set from outside the user's own sessions (another admin, `odk-cmd user-set-password`, a reset):
   * Central then deletes every session of the user (Sessions.terminateByActorId), so Bearer tokens in use answer 401.2.
   */
  setPassword(email: string, password: string): void {
    const user = this.user(email);
    user.password = password;
    this.terminateSessions(user.actor);
  }

  /** Central's Actors.del: the user can no longer log in (getByEmail skips deleted actors) and its sessions end; what it submitted stays. */
  deleteUser(email: string): void {
    const user = this.user(email);
    this.users.splice(this.users.indexOf(user), 1);
    this.terminateSessions(user.actor);
  }

  private terminateSessions(actor: OdkActor): void {
    for (const [token, s] of this.sessions) if (s.actor.id === actor.id) this.sessions.delete(token);
  }

  /** The live session for a token, if any (expired ones are as good as absent). */
  sessionFor(token: string): OdkSession | undefined {
    const s = this.sessions.get(token);
    return s !== undefined && s.expiresAt > this.nowMicros() ? s : undefined;
  }

  addProject(name: string): OdkProject {
    const project: OdkProject = { id: ++this.ids.project, name, createdAt: this.stamp() };
    this.projects.set(project.id, project);
    return project;
  }

  project(id: number): OdkProject {
    const p = this.projects.get(id);
    if (p === undefined) throw problems.notFound();
    return p;
  }

  /** Creates and publishes a form, or publishes a new version of an existing one (409.6 for a version already published). */
  publishForm(projectId: number, xml: string): OdkForm {
    this.project(projectId);
    const parsed = parseXForm(xml);
    let form = this.forms.find((f) => f.projectId === projectId && f.xmlFormId === parsed.xmlFormId);
    if (form?.defs.some((d) => d.version === parsed.version)) throw problems.versionUniquenessViolation(parsed.xmlFormId, parsed.version);
    const publishedAt = this.stamp();
    if (form === undefined) {
      form = { id: ++this.ids.form, projectId, xmlFormId: parsed.xmlFormId, createdAt: publishedAt, updatedAt: null, defs: [] };
      this.forms.push(form);
    } else {
      form.updatedAt = publishedAt;
    }
    form.defs.push({ ...parsed, id: ++this.ids.formDef, publishedAt });
    return form;
  }

  form(projectId: number, xmlFormId: string): OdkForm {
    this.project(projectId);
    const f = this.forms.find((x) => x.projectId === projectId && x.xmlFormId === xmlFormId);
    if (f === undefined) throw problems.notFound();
    return f;
  }

  /** The published version a submission names; 404.6 when there is none. */
  formDefFor(form: OdkForm, version: string): OdkFormDef {
    const def = form.defs.find((d) => d.version === version);
    if (def === undefined) throw problems.formVersionNotFound(version);
    return def;
  }

  formDefById(form: OdkForm, id: number): OdkFormDef {
    return form.defs.find((d) => d.id === id) ?? currentFormDef(form);
  }

  /** All submissions of a form, deleted ones included. */
  submissionsOf(form: OdkForm): OdkSubmission[] {
    return this.submissions.filter((s) => s.formId === form.id);
  }

  /** A live (not deleted) submission by its logical id; 404.1 otherwise. */
  submission(form: OdkForm, instanceId: string): OdkSubmission {
    const s = this.submissionsOf(form).find((x) => x.instanceId === instanceId && x.deletedAt === null);
    if (s === undefined) throw problems.notFound();
    return s;
  }

  /** REST create: ignores any deprecatedID (a new logical submission, as Central's createNew). */
  createSubmission(form: OdkForm, env: SubmissionEnvelope, by: Provenance): OdkSubmission {
    const formDef = this.formDefFor(form, env.version);
    if (this.submissionsOf(form).some((s) => s.instanceId === env.instanceId)) {
      throw problems.uniquenessViolation(["formId", "instanceId", "draft"], [String(form.id), env.instanceId, "f"], "submissions");
    }
    this.assertVersionIdFree(form, env.instanceId);
    const createdAt = this.stamp();
    const sub: OdkSubmission = {
      id: ++this.ids.submission, formId: form.id, instanceId: env.instanceId, submitterId: by.actor.id,
      deviceId: blankToNull(by.deviceId), createdAt, updatedAt: null, reviewState: null, deletedAt: null, defs: [],
    };
    sub.defs.push(this.newDef(env, formDef, by, createdAt, new Map()));
    this.submissions.push(sub);
    return sub;
  }

  /** An edit: `env.deprecatedId` must be the current version's instanceID (409.9 otherwise). */
  createVersion(form: OdkForm, sub: OdkSubmission, env: SubmissionEnvelope, by: Provenance): OdkSubmission {
    const current = currentDef(sub);
    if (env.deprecatedId !== current.instanceId) throw problems.deprecatingOldSubmission(env.deprecatedId ?? "");
    const formDef = this.formDefFor(form, env.version);
    this.assertVersionIdFree(form, env.instanceId);
    const at = this.stamp();
    sub.defs.push(this.newDef(env, formDef, by, at, current.attachments));
    sub.reviewState = "edited";
    sub.updatedAt = at;
    return sub;
  }

  /** PATCH: the only writable metadata. An unknown state fails in PostgreSQL's enum cast, which Central answers with a bare 500. */
  setReviewState(sub: OdkSubmission, state: string | null): void {
    if (state !== null && !REVIEW_STATES.includes(state)) throw new OdkInternalError(`invalid input value for enum: "${state}"`);
    sub.reviewState = state;
    sub.updatedAt = this.stamp();
  }

  /** Soft delete; updatedAt is not touched (an updatedAt poller never sees deletions). */
  deleteSubmission(sub: OdkSubmission): void {
    sub.deletedAt = this.stamp();
  }

  restoreSubmission(form: OdkForm, instanceId: string): void {
    const s = this.submissionsOf(form).find((x) => x.instanceId === instanceId && x.deletedAt !== null);
    if (s === undefined) throw problems.notFound();
    s.deletedAt = null;
  }

  /** Stores an upload for an expected attachment of the current version; 404.1 for a name the XML does not reference. */
  attach(sub: OdkSubmission, name: string, content: Buffer, contentType: string): void {
    const def = currentDef(sub);
    if (!def.attachments.has(name)) throw problems.notFound();
    def.attachments.set(name, { content, contentType, md5: createHash("md5").update(content).digest("hex") });
  }

  /** Central's check_instanceid_unique trigger: no two versions of any submission of a form share an instanceID. */
  private assertVersionIdFree(form: OdkForm, instanceId: string): void {
    if (this.submissionsOf(form).some((s) => s.defs.some((d) => d.instanceId === instanceId))) {
      throw problems.uniquenessViolation("instanceID", instanceId);
    }
  }

  private newDef(env: SubmissionEnvelope, formDef: OdkFormDef, by: Provenance, createdAt: Micros, previous: Map<string, OdkBlob | null>): OdkSubmissionDef {
    const attachments = new Map<string, OdkBlob | null>();
    for (const name of expectedAttachments(env.xml, formDef.fields)) attachments.set(name, previous.get(name) ?? null);
    return {
      id: ++this.ids.def, instanceId: env.instanceId, xml: env.xml, formDefId: formDef.id, submitterId: by.actor.id,
      deviceId: blankToNull(by.deviceId), userAgent: blankToNull(by.userAgent), instanceName: env.instanceName, createdAt, attachments,
    };
  }
}

function blankToNull(s: string | null): string | null {
  return s === null || s.trim() === "" ? null : s;
}

/** Central's session token alphabet: base64 with "/" → "!" and "+" → "$", 64 characters. Drawn until it holds both, so clients meet them. */
function generateToken(): string {
  for (;;) {
    const t = randomBytes(48).toString("base64").replace(/\//g, "!").replace(/\+/g, "$");
    if (t.includes("!") && t.includes("$")) return t;
  }
}

/** The attachment names a version expects: trimmed, non-empty, distinct values of binary fields, in document order. */
export function expectedAttachments(xml: string, fields: readonly OdkField[]): string[] {
  const binaryPaths = new Set(fields.filter((f) => f.binary).map((f) => f.path));
  if (binaryPaths.size === 0) return [];
  const names: string[] = [];
  const walk = (el: XmlElement, path: string): void => {
    for (const c of childElements(el)) {
      const p = `${path}/${stripNamespaces(c.name)}`;
      const name = textOf(c).trim();
      if (binaryPaths.has(p) && name !== "" && !names.includes(name)) names.push(name);
      walk(c, p);
    }
  };
  walk(parseXml(xml), "");
  return names;
}
