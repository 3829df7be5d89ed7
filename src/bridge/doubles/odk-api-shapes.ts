/**
 * REST JSON shapes of Central's resources (the readable fields of its
 * frames): projects, forms, submissions and their versions, actors.
 * REST ids are numbers (`submitterId: 5`); OData turns them into strings.
 */
import {
  currentDef, currentFormDef, isoOf, isoOrNull,
  type OdkActor, type OdkForm, type OdkFormDef, type OdkProject, type OdkSubmission, type OdkSubmissionDef,
} from "./odk-model.js";
import type { OdkStore } from "./odk-store.js";

/** What an administrator may do on a project (the `verbs` Central lists with each project). */
const PROJECT_VERBS = [
  "project.read", "project.update", "project.delete", "form.create", "form.delete", "form.list", "form.read", "form.update",
  "submission.create", "submission.read", "submission.list", "submission.update", "submission.delete", "submission.restore",
  "field_key.create", "field_key.list", "field_key.delete", "assignment.list", "assignment.create", "assignment.delete",
  "session.end", "dataset.list", "dataset.read", "entity.list", "entity.read", "entity.create", "entity.update",
];

/** An actor (user or App User) as Central lists it. */
export function actorJson(actor: OdkActor): Record<string, unknown> {
  return { id: actor.id, type: actor.type, displayName: actor.displayName, createdAt: isoOf(actor.createdAt), updatedAt: null, deletedAt: null };
}

/** A project as `GET /v1/projects` lists it. */
export function projectJson(project: OdkProject): Record<string, unknown> {
  return {
    id: project.id, name: project.name, description: null, keyId: null, archived: false,
    createdAt: isoOf(project.createdAt), updatedAt: null, deletedAt: null, verbs: PROJECT_VERBS,
  };
}

/** A form as `GET …/forms/{id}` shows it; `def` picks the version (default: current). `extended` adds submission statistics. */
export function formJson(store: OdkStore, form: OdkForm, options: { def?: OdkFormDef; extended?: boolean } = {}): Record<string, unknown> {
  const def = options.def ?? currentFormDef(form);
  const base: Record<string, unknown> = {
    projectId: form.projectId, xmlFormId: form.xmlFormId, state: "open", enketoId: null, enketoOnceId: null,
    createdAt: isoOf(form.createdAt), updatedAt: isoOrNull(form.updatedAt), webformsEnabled: false,
    keyId: null, version: def.version, hash: def.hash, sha: def.sha, sha256: def.sha256, draftToken: null,
    publishedAt: isoOf(def.publishedAt), name: def.name,
  };
  if (options.extended !== true) return base;
  const live = store.submissionsOf(form).filter((s) => s.deletedAt === null);
  const last = live.reduce<number | null>((m, s) => (m === null || s.createdAt > m ? s.createdAt : m), null);
  const count = (state: string | null): number => live.filter((s) => s.reviewState === state).length;
  return {
    ...base,
    submissions: live.length,
    entityRelated: false,
    reviewStates: { received: count(null), hasIssues: count("hasIssues"), edited: count("edited") },
    lastSubmission: isoOrNull(last),
    excelContentType: null,
    publicLinks: 0,
  };
}

/** One version of a submission, as in `currentVersion` and `/versions`. */
export function versionJson(store: OdkStore, def: OdkSubmissionDef, current: boolean, extended = false): Record<string, unknown> {
  const out: Record<string, unknown> = {
    instanceId: def.instanceId, instanceName: def.instanceName, submitterId: def.submitterId, deviceId: def.deviceId,
    userAgent: def.userAgent, createdAt: isoOf(def.createdAt), current,
  };
  const submitter = def.submitterId === null ? undefined : store.actors.get(def.submitterId);
  if (extended) out.submitter = submitter === undefined ? null : actorJson(submitter);
  return out;
}

/** A submission's metadata (`GET …/submissions`, `…/submissions/{id}`, PUT response). */
export function submissionJson(store: OdkStore, sub: OdkSubmission, extended = false): Record<string, unknown> {
  const root = sub.defs[0];
  const out: Record<string, unknown> = {
    instanceId: sub.instanceId, submitterId: sub.submitterId, deviceId: sub.deviceId, createdAt: isoOf(sub.createdAt),
    updatedAt: isoOrNull(sub.updatedAt), reviewState: sub.reviewState, userAgent: root?.userAgent ?? null,
    deletedAt: isoOrNull(sub.deletedAt), currentVersion: versionJson(store, currentDef(sub), true, extended),
  };
  if (extended) {
    const submitter = sub.submitterId === null ? undefined : store.actors.get(sub.submitterId);
    out.submitter = submitter === undefined ? null : actorJson(submitter);
  }
  return out;
}

/** The POST (create) response: Central returns the new row before review state and deletion exist. */
export function createdSubmissionJson(sub: OdkSubmission): Record<string, unknown> {
  const def = currentDef(sub);
  return {
    instanceId: sub.instanceId, submitterId: sub.submitterId, deviceId: sub.deviceId, createdAt: isoOf(sub.createdAt),
    updatedAt: null, userAgent: def.userAgent,
    currentVersion: {
      instanceId: def.instanceId, createdAt: isoOf(def.createdAt), deviceId: def.deviceId, userAgent: def.userAgent,
      instanceName: def.instanceName, current: true, submitterId: def.submitterId,
    },
  };
}

/** The PATCH response: the submissions row as updated. */
export function patchedSubmissionJson(sub: OdkSubmission): Record<string, unknown> {
  return {
    instanceId: sub.instanceId, submitterId: sub.submitterId, deviceId: sub.deviceId, createdAt: isoOf(sub.createdAt),
    updatedAt: isoOrNull(sub.updatedAt), reviewState: sub.reviewState, deletedAt: isoOrNull(sub.deletedAt),
  };
}
