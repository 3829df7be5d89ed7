/**
 * The JSON shape of test/fixtures/golden-vectors.json and the conversions
 * between its JSON values and CBOR data-model values. Shared by the generator
 * (make-golden-vectors.ts) and the test that checks the fixture.
 *
 * A CBOR value is written as plain JSON, except that a byte string is the
 * object {"$bytes": "<hex>"} (no map in the vectors has that single key).
 * JSON numbers are the values themselves: whole numbers in the safe range are
 * integers, everything else is a float (JSON text round-trips doubles exactly).
 */
import type { CborMap, CborValue } from "../../src/engine/cbor.js";
import type { EventBody } from "../../src/engine/event.js";
import type { FieldFormat, VocabularyField } from "../../src/engine/vocabulary.js";
import type { Hlc } from "../../src/engine/hlc.js";
import { recordId, recordType, type AuthorId } from "../../src/engine/ids.js";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function toJsonValue(v: CborValue): JsonValue {
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString("hex") };
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v !== null && typeof v === "object") {
    const out: { [key: string]: JsonValue } = {};
    for (const [k, x] of Object.entries(v)) out[k] = toJsonValue(x);
    return out;
  }
  return v;
}

export function fromJsonValue(v: JsonValue): CborValue {
  if (Array.isArray(v)) return v.map(fromJsonValue);
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "$bytes" && typeof v.$bytes === "string") return hexBytes(v.$bytes);
    const out: CborMap = {};
    for (const k of keys) out[k] = fromJsonValue(v[k] as JsonValue);
    return out;
  }
  return v;
}

/** A plain Uint8Array (not a Buffer), so deep equality with decoded values holds. */
export function hexBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, "hex"));
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

export type JsonBody =
  | { kind: "upsert"; record: string; type: string; base: Hlc | null; fields: { [key: string]: JsonValue } }
  | { kind: "delete"; record: string; type: string; base: Hlc | null }
  | { kind: "attachment"; record: string; type: string; field: string; hash: string; size: number; mime: string }
  | { kind: "vocabulary"; type: string; fields: JsonVocabularyField[] }
  | { kind: "removal"; member: string; after: number }
  | { kind: "unknown"; code: number; value: JsonValue };

/** A vocabulary field as JSON: the properties it has, no undefined ones. */
export interface JsonVocabularyField {
  name: string;
  format?: FieldFormat;
  choices?: string[];
  fields?: JsonVocabularyField[];
}

function vocabularyFieldToJson(f: VocabularyField): JsonVocabularyField {
  const out: JsonVocabularyField = { name: f.name };
  if (f.format !== undefined) out.format = f.format;
  if (f.choices !== undefined) out.choices = [...f.choices];
  if (f.fields !== undefined) out.fields = f.fields.map(vocabularyFieldToJson);
  return out;
}

export function bodyToJson(b: EventBody): JsonBody {
  switch (b.kind) {
    case "upsert":
      return { kind: "upsert", record: b.record, type: b.type, base: b.base, fields: toJsonValue(b.fields) as { [key: string]: JsonValue } };
    case "delete":
      return { kind: "delete", record: b.record, type: b.type, base: b.base };
    case "attachment":
      return { kind: "attachment", record: b.record, type: b.type, field: b.field, hash: hex(b.hash), size: b.size, mime: b.mime };
    case "vocabulary":
      return { kind: "vocabulary", type: b.type, fields: b.fields.map(vocabularyFieldToJson) };
    case "removal":
      return { kind: "removal", member: b.member, after: b.after };
    case "unknown":
      return { kind: "unknown", code: b.code, value: toJsonValue(b.value) };
  }
}

export function bodyFromJson(b: JsonBody): EventBody {
  switch (b.kind) {
    case "upsert":
      return { kind: "upsert", record: recordId(b.record), type: recordType(b.type), base: b.base, fields: fromJsonValue(b.fields) as CborMap };
    case "delete":
      return { kind: "delete", record: recordId(b.record), type: recordType(b.type), base: b.base };
    case "attachment":
      return {
        kind: "attachment", record: recordId(b.record), type: recordType(b.type), field: b.field, hash: hexBytes(b.hash), size: b.size,
        mime: b.mime,
      };
    case "vocabulary":
      return { kind: "vocabulary", type: recordType(b.type), fields: b.fields };
    case "removal":
      return { kind: "removal", member: b.member as AuthorId, after: b.after };
    case "unknown":
      return { kind: "unknown", code: b.code, value: fromJsonValue(b.value) };
  }
}

export interface GoldenIdentity {
  name: string;
  /** 32-byte Ed25519 seed (RFC 8032 private key), hex. */
  seed: string;
  /** Ed25519 public key = author id, hex. */
  publicKey: string;
}

export interface GoldenEvent {
  /** Name of the identity that signed it. */
  identity: string;
  seq: number;
  /** Id of the event at seq-1 of the same feed, hex; null at seq 1. */
  prev: string | null;
  hlc: Hlc;
  body: JsonBody;
  /** Numeric kind code (part of the signed bytes). */
  kind: number;
  /** canonicalEventBytes: the bytes the id hashes, hex. */
  canonical: string;
  /** SHA-256 of canonical, hex. */
  id: string;
  /** Ed25519 over SIGNATURE_CONTEXT ‖ id bytes, hex. */
  signature: string;
  /** encodeSignedEvent, hex. */
  encoded: string;
  /**
   * encodeCanonical(encodeWireItem(event, prevWall, vocabulary)), hex; prevWall is the HLC wall of seq-1 (null at seq 1);
   * vocabularySeq, when present, the seq of the same feed's vocabulary event the upsert is packed with.
   */
  wire: { prevWall: number | null; item: string; vocabularySeq?: number };
}

export interface GoldenStamp {
  wall: number;
  counter: number;
  /** Author id (hex public key). */
  author: string;
}

export interface GoldenCbor {
  note: string;
  value: JsonValue;
  hex: string;
}

export interface GoldenVectors {
  about: string[];
  signatureContext: string;
  eventFormatVersion: number;
  identities: GoldenIdentity[];
  events: GoldenEvent[];
  hlcOrder: {
    about: string;
    stamps: GoldenStamp[];
    /** Indices into stamps, in ascending (wall, counter, author) order. */
    sorted: number[];
  };
  cbor: GoldenCbor[];
}
