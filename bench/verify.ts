/**
 * Single-core Ed25519 verification rates over the signing messages of the
 * ingest benchmark's events: node's built-in crypto (what the store uses) and
 * @noble/ed25519 (the pure-JS alternative the README compares it with).
 */
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { SIGNATURE_BYTES } from "../src/engine/constants.js";
import { verifySignature } from "../src/engine/crypto.js";
import { SIGNING_MESSAGE_BYTES, type VerifyInputs } from "./feeds.js";
import { since } from "./metrics.js";

ed.hashes.sha512 = sha512;

/** A verification function with the argument order of src/engine/crypto.ts. */
type Verify = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

/** The result of checking `count` signatures. */
export interface VerifyRate {
  readonly count: number;
  readonly ms: number;
  readonly perSecond: number;
}

function run(inputs: VerifyInputs, keys: readonly Uint8Array[], count: number, verify: Verify): VerifyRate {
  const n = Math.min(count, inputs.count);
  const msgs = Array.from({ length: n }, (_, i) => inputs.messages.subarray(i * SIGNING_MESSAGE_BYTES, (i + 1) * SIGNING_MESSAGE_BYTES));
  const sigs = Array.from({ length: n }, (_, i) => inputs.signatures.subarray(i * SIGNATURE_BYTES, (i + 1) * SIGNATURE_BYTES));
  const authorKeys = Array.from({ length: n }, (_, i) => keys[inputs.authors[i] as number] as Uint8Array);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    if (!verify(authorKeys[i] as Uint8Array, msgs[i] as Uint8Array, sigs[i] as Uint8Array)) {
      throw new Error(`signature ${i} did not verify: the benchmark's inputs are wrong`);
    }
  }
  const ms = since(start);
  return { count: n, ms, perSecond: (n / ms) * 1000 };
}

/** Node's built-in Ed25519 (OpenSSL) through verifySignature, over the first `count` events. */
export function verifyNodeRate(inputs: VerifyInputs, keys: readonly Uint8Array[], count = inputs.count): VerifyRate {
  return run(inputs, keys, count, verifySignature);
}

/** @noble/ed25519's synchronous verify, strict RFC 8032 (zip215: false) like OpenSSL, over the first `count` events. */
export function verifyNobleRate(inputs: VerifyInputs, keys: readonly Uint8Array[], count = 2_000): VerifyRate {
  // A few warm-up checks so its lazily built precomputation tables are not timed.
  run(inputs, keys, 20, (k, m, s) => ed.verify(s, m, k, { zip215: false }));
  return run(inputs, keys, count, (k, m, s) => ed.verify(s, m, k, { zip215: false }));
}
