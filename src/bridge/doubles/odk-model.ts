/**
 * The double's in-memory records, shaped like Central's tables: a submission
 * is the logical record (its `instanceId` is the first version's and never
 * changes), its defs are the versions (the last one is current).
 * Timestamps are microseconds since the epoch, as PostgreSQL keeps them;
 * the API shows milliseconds, so `gt <shown value>` still matches the row
 * it was read from, exactly as on a real server.
 */
import type { OdkFormDefinition } from "./odk-forms.js";

/** Microseconds since the epoch. */
export type Micros = number;

/** ISO-8601 with milliseconds and Z, as Central's JSON shows timestamps. */
export function isoOf(us: Micros): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}

/** isoOf, passing null through. */
export function isoOrNull(us: Micros | null): string | null {
  return us === null ? null : isoOf(us);
}

/** A user or App User; submissions and sessions point at actors. */
export interface OdkActor {
  readonly id: number;
  readonly type: "user" | "field_key";
  readonly displayName: string;
  readonly createdAt: Micros;
}

/** A web user who can log in. */
export interface OdkUser {
  readonly actor: OdkActor;
  readonly email: string;
  /** Changed only through OdkStore.setPassword, which also ends the user's sessions. */
  password: string;
}

/** A Bearer session; invalid once `expiresAt` has passed. */
export interface OdkSession {
  readonly token: string;
  readonly csrf: string;
  readonly actor: OdkActor;
  readonly createdAt: Micros;
  expiresAt: Micros;
}

/** A project. */
export interface OdkProject {
  readonly id: number;
  readonly name: string;
  readonly createdAt: Micros;
}

/** One published version of a form. */
export interface OdkFormDef extends OdkFormDefinition {
  readonly id: number;
  readonly publishedAt: Micros;
}

/** A form (xmlFormId unique per project) and its published versions. */
export interface OdkForm {
  readonly id: number;
  readonly projectId: number;
  readonly xmlFormId: string;
  readonly createdAt: Micros;
  updatedAt: Micros | null;
  /** Published versions, oldest first; the last one is current. */
  readonly defs: OdkFormDef[];
}

/** An uploaded attachment. */
export interface OdkBlob {
  readonly content: Buffer;
  readonly contentType: string;
  readonly md5: string;
}

/** One version of a submission. */
export interface OdkSubmissionDef {
  readonly id: number;
  readonly instanceId: string;
  readonly xml: string;
  readonly formDefId: number;
  readonly submitterId: number | null;
  readonly deviceId: string | null;
  readonly userAgent: string | null;
  readonly instanceName: string | null;
  readonly createdAt: Micros;
  /** Expected attachment names (from binary answers), each with its content once uploaded. */
  readonly attachments: Map<string, OdkBlob | null>;
}

/** A logical submission; deleted ones stay (soft delete) and still occupy their instanceID. */
export interface OdkSubmission {
  readonly id: number;
  readonly formId: number;
  /** The logical id: the first version's instanceID. */
  readonly instanceId: string;
  readonly submitterId: number | null;
  readonly deviceId: string | null;
  readonly createdAt: Micros;
  updatedAt: Micros | null;
  reviewState: string | null;
  deletedAt: Micros | null;
  /** Versions, oldest first; the last one is current. */
  readonly defs: OdkSubmissionDef[];
}

/** The current version of a submission. */
export function currentDef(s: OdkSubmission): OdkSubmissionDef {
  const d = s.defs[s.defs.length - 1];
  if (d === undefined) throw new Error(`submission ${s.instanceId} has no versions`);
  return d;
}

/** The current version of a form. */
export function currentFormDef(f: OdkForm): OdkFormDef {
  const d = f.defs[f.defs.length - 1];
  if (d === undefined) throw new Error(`form ${f.xmlFormId} has no published version`);
  return d;
}

/** Review states Central's enum accepts (null is "received"). */
export const REVIEW_STATES: readonly string[] = ["hasIssues", "edited", "rejected", "approved"];
