/**
 * One mapped form on the site's own server, seen through what the poller and
 * writer need: changed submission versions, the current version of one
 * record, and three writes. Implemented for KoboToolbox (kobo-form.ts) and
 * ODK Central (odk-form.ts); everything above this interface is the same for
 * both servers.
 */
import type { RecordId } from "../engine/ids.js";
import type { Answers } from "./bridge-store.js";
import type { FormSchema } from "./form-schema.js";
import type { Result } from "./upstream.js";

/** A submission version as the local server holds it now. */
export interface ObservedVersion {
  /** The record: Kobo `meta/rootUuid`, Central `__id` (both the first version's instanceID). */
  readonly record: RecordId;
  /** The server's own key: Kobo `_id` as text, Central `__id`. */
  readonly localKey: string;
  /** The current version's instanceID. */
  readonly instanceId: string;
  /** Every replicable answer of the form, by local path (absent = unanswered). */
  readonly answers: Answers;
  /** When the server first received the record (ISO 8601 UTC), kept as a new record's capture time elsewhere. */
  readonly submittedAt: string | null;
  /** The files the server holds for this version, when the poll's rows list them (Kobo `_attachments`); else ask listFiles. */
  readonly files?: readonly ServerFile[];
}

/** A file the local server holds for a submission (one attachment). */
export interface ServerFile {
  /** The file's name: exactly the answer text that names it in the submission XML (its basename). */
  readonly name: string;
  /** The server's id for this stored content, when it lists one (Kobo's attachment uid; a replaced file gets a new one); null for Central. */
  readonly token: string | null;
  readonly mime: string | null;
}

/** A file read from the server: "unchanged" when it still has the entity tag we gave. */
export type FetchedFile =
  | { readonly kind: "unchanged" }
  | {
      readonly kind: "file";
      readonly size: number;
      readonly sha256: Uint8Array;
      /** The bytes, or null when larger than the caller's keep limit (hashed only). */
      readonly bytes: Uint8Array | null;
      readonly mime: string;
      /** Central's ETag for the content (kept to ask "still the same?" next time); null for Kobo. */
      readonly etag: string | null;
    };

/** A file to put on the server, bytes in hand. */
export interface OutgoingFile {
  readonly name: string;
  readonly mime: string;
  readonly bytes: Uint8Array;
}

export type PollItem =
  | { readonly kind: "version"; readonly version: ObservedVersion }
  /**
   * A submission the server no longer has (deleted by a person, or by us). `record` names it when its local
   * key was never learned (a Kobo submission our writer created, deleted before a poll read its `_id`).
   */
  | { readonly kind: "gone"; readonly localKey: string; readonly record?: RecordId };

/** What the bridge already knows of the form's submissions: local key → record and instanceID. */
export type KnownKeys = ReadonlyMap<string, { readonly record: RecordId; readonly instanceId: string }>;

export interface PollPass {
  /**
   * Called with each batch of changes, in order; the caller commits it before the next page is fetched.
   * `cursor`, when given, is safe to store with this batch (everything before it is in this or an earlier batch).
   */
  readonly onPage: (items: readonly PollItem[], cursor?: unknown) => void;
  /** The local copies as they are now (read again after each page is committed). */
  readonly known: () => KnownKeys;
  /** Live copies whose local key is not known yet (written by us; the server's answer does not carry it). */
  readonly unkeyed: () => readonly RecordId[];
}

/** The current version of a record on the server. */
export interface CurrentVersion {
  readonly localKey: string;
  readonly instanceId: string;
  /** The whole submission XML, to patch for an edit (local-only answers survive). */
  readonly xml: string;
}

export interface LocalForm {
  readonly source: string;
  readonly schema: FormSchema;
  /** Human description for messages: "KoboToolbox asset aX… at http://kf…". */
  readonly describe: string;
  /**
   * One pass over what changed since `cursor` (undefined: from the beginning). Pages go to `pass.onPage`;
   * the returned cursor is stored only after the whole pass, so a pass cut short is simply repeated.
   */
  poll(cursor: unknown, pass: PollPass): Promise<Result<unknown>>;
  /** The record's current version on the server; null if it has none (never written, or deleted). */
  current(record: RecordId, localKey: string | null): Promise<Result<CurrentVersion | null>>;
  /**
   * Where files go: false (Kobo) in the same OpenRosa multipart as the XML
   * (`create`/`edit`), true (Central) by `attach`, one request per file, after
   * the XML has landed (Central's REST create and PUT carry no files).
   */
  readonly filesApart: boolean;
  /** Creates a submission; `xml` carries the record's instanceID. `files` travel with it unless filesApart. */
  create(record: RecordId, xml: string, files?: readonly OutgoingFile[]): Promise<Result<void>>;
  /** Replaces the current version: `xml` carries a new instanceID and deprecatedID = the current one. `files` as for create. */
  edit(record: RecordId, localKey: string, xml: string, files?: readonly OutgoingFile[]): Promise<Result<void>>;
  /** The files the server holds for the record's current version (Central: only those uploaded, `exists: true`). */
  listFiles(record: RecordId, localKey: string): Promise<Result<ServerFile[]>>;
  /** Reads one file, hashing all of it and keeping at most `keepBytes`; `etag` (Central) makes an unchanged file "unchanged". */
  fetchFile(record: RecordId, localKey: string, file: ServerFile, keepBytes: number, etag: string | null): Promise<Result<FetchedFile>>;
  /** Puts one file on the current version (filesApart servers only); re-sending the same file is harmless. */
  attach(record: RecordId, localKey: string, file: OutgoingFile): Promise<Result<void>>;
  remove(record: RecordId, localKey: string): Promise<Result<"deleted" | "absent">>;
  /** Brings back a soft-deleted submission (Central); "unsupported" where deletion is final (Kobo). */
  restore(record: RecordId, localKey: string): Promise<Result<"restored" | "unsupported">>;
  close(): Promise<void>;
}
