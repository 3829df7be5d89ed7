/**
 * Branded identifiers. A record id cannot be passed where an author is
 * expected: the compiler refuses it.
 */
import { AUTHOR_KEY_BYTES, EVENT_ID_BYTES } from "./constants.js";

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** An author: the lowercase hex of a member's Ed25519 public key (64 chars). Hex order equals byte order. */
export type AuthorId = Brand<string, "AuthorId">;
/** An event id: lowercase hex of SHA-256 over the canonical event bytes (64 chars). */
export type EventId = Brand<string, "EventId">;
/** A record: the stable id of a submission (its original instanceID, e.g. `uuid:…`). */
export type RecordId = Brand<string, "RecordId">;
/** A record type: the admin's name for what a form collects (e.g. `water_point`). */
export type RecordType = Brand<string, "RecordType">;

const HEX64 = /^[0-9a-f]{64}$/;

export function toAuthorId(bytes: Uint8Array): AuthorId {
  if (bytes.length !== AUTHOR_KEY_BYTES) throw new RangeError(`author key must be ${AUTHOR_KEY_BYTES} bytes, got ${bytes.length}`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex") as AuthorId;
}

export function parseAuthorId(text: string): AuthorId | undefined {
  const lower = text.trim().toLowerCase();
  return HEX64.test(lower) ? (lower as AuthorId) : undefined;
}

export function toEventId(bytes: Uint8Array): EventId {
  if (bytes.length !== EVENT_ID_BYTES) throw new RangeError(`event id must be ${EVENT_ID_BYTES} bytes, got ${bytes.length}`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex") as EventId;
}

export function hexToBytes(hex: AuthorId | EventId): Buffer {
  return Buffer.from(hex, "hex");
}

export function recordId(text: string): RecordId {
  if (text.length === 0) throw new RangeError("record id must not be empty");
  return text as RecordId;
}

export function recordType(text: string): RecordType {
  if (text.length === 0) throw new RangeError("record type must not be empty");
  return text as RecordType;
}
