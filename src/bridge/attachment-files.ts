/**
 * Which files of a record replicate, under a mapping's attachment policy.
 *
 * A file is known by its name: the basename a binary answer ("photo": "1712.jpg")
 * gives, exactly as the submission XML has it. That is how both servers key a
 * submission's attachments (Kobo's multipart parts and `media_file_basename`,
 * Central's `…/attachments/{filename}`), and a photo question inside a repeat
 * has one name per instance, so the name (not the question's path) is the
 * `field` of the "attachment" event and the key of the record's attachments.
 *
 * Only files named by the answers of units whose value goes on air ("send")
 * replicate: a field excluded from the mapping, or with radio policy "never"
 * or "hash" (its value, and so its file name, never leaves the site) keeps its
 * file at this site too.
 */
import type { CborMap, CborValue } from "../engine/cbor.js";
import type { Answers } from "./bridge-store.js";
import type { SchemaNode } from "./form-schema.js";
import type { ResolvedMapping } from "./mapping.js";

/** What the bridge does with a mapping's files: nothing, metadata events only, or metadata and the bytes up to `maxBytes`. */
export interface FilePolicy {
  readonly kind: "none" | "metadata" | "transfer";
  /** Largest file whose bytes are kept and carried (0 unless "transfer"). */
  readonly maxBytes: number;
}

export function filePolicy(m: ResolvedMapping): FilePolicy {
  const a = m.config.attachments;
  return { kind: a.policy, maxBytes: a.policy === "transfer" ? a.max_bytes : 0 };
}

/** True if the bytes of a file of `size` bytes are kept (and carried) under `p`. */
export function keepsBytes(p: FilePolicy, size: number): boolean {
  return p.kind === "transfer" && size <= p.maxBytes;
}

function addNames(node: SchemaNode, value: CborValue | undefined, out: Set<string>): void {
  if (value === undefined || value === null) return;
  if (node.kind === "field") {
    if (node.type === "binary" && typeof value === "string" && value.trim() !== "") out.add(value.trim());
    return;
  }
  // A repeat's value is an array of instance maps keyed by paths relative to the repeat; groups flatten into them.
  if (node.kind === "repeat" && Array.isArray(value)) {
    for (const inst of value) if (inst !== null && typeof inst === "object" && !Array.isArray(inst)) addInstance(node.children, inst as CborMap, "", out);
  }
}

function addInstance(nodes: readonly SchemaNode[], inst: CborMap, prefix: string, out: Set<string>): void {
  for (const n of nodes) {
    const key = prefix + n.name;
    if (n.kind === "group") addInstance(n.children, inst, `${key}/`, out);
    else addNames(n, inst[key], out);
  }
}

/** The names of the files that replicate among `answers` (by local path): binary answers of "send" units, repeats included. */
export function sharedFileNames(m: ResolvedMapping, answers: Answers): Set<string> {
  const out = new Set<string>();
  for (const u of m.units) if (u.radio === "send") addNames(u.node, answers.get(u.local), out);
  return out;
}

export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
