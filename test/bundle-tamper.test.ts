/**
 * Bad bundles are refused with a message that says which fault, and nothing of
 * them is ingested: a flipped byte anywhere (every byte of the header, chunk
 * heads and signature, sampled payload bytes), truncation at many points,
 * trailing bytes, chunks swapped or dropped (with and without a fresh
 * signature by the exporter), a wrong or missing key, a non-member exporter,
 * another network, files that are not bundles.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { exportBundle, importBundle, verifyBundle, type BundleProblem, type ImportOptions, type ImportResult } from "../src/bundle/index.js";
import { BUNDLE_SIGNATURE_CONTEXT, CHUNK_HEAD_BYTES, PREAMBLE_BYTES, parseHeader } from "../src/bundle/bundle-format.js";
import { sha256, type Signer } from "../src/engine/crypto.js";
import { encodeCanonical } from "../src/engine/cbor.js";
import { seededRandom } from "../src/engine/random.js";
import { carry, joinNetwork, KEY, NETWORK, openSite, writeEvents, type Site } from "./support/bundle-sites.js";

const dir = mkdtempSync(join(tmpdir(), "meshlogd-bundle-tamper-"));
const sites: Site[] = [];
after(() => {
  for (const s of sites) s.store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Byte ranges of a bundle's parts, read from its layout. */
interface Layout {
  headerEnd: number;
  chunks: { start: number; end: number }[];
  sigStart: number;
}

function layoutOf(b: Buffer): Layout {
  const headerEnd = PREAMBLE_BYTES + b.readUInt32BE(9);
  const chunks: Layout["chunks"] = [];
  let at = headerEnd;
  for (;;) {
    const end = at + CHUNK_HEAD_BYTES + b.readUInt32BE(at + 1);
    chunks.push({ start: at, end });
    const final = (b[at] as number) & 1;
    at = end;
    if (final) break;
  }
  return { headerEnd, chunks, sigStart: at };
}

function chunkAt(b: Buffer, i: number): { start: number; end: number } {
  const c = layoutOf(b).chunks[i];
  assert.ok(c, `no chunk ${i}`);
  return c;
}

/** `body` (a bundle without its signature) signed again by `signer`, as a dishonest or buggy exporter could. */
function resign(body: Buffer, signer: Signer): Buffer {
  return Buffer.concat([body, signer.sign(Buffer.concat([Buffer.from(BUNDLE_SIGNATURE_CONTEXT), sha256(body)]))]);
}

let A: Site, X: Site, T: Site;
let sealed: Buffer, plain: Buffer, foreign: Buffer, otherNetwork: Buffer;
const importOptions = { networkKey: KEY, network: NETWORK };

before(async () => {
  [A, X, T] = [openSite(dir, "A"), openSite(dir, "X"), openSite(dir, "T")];
  const B = openSite(dir, "B");
  sites.push(A, X, T, B);
  joinNetwork([A, B, T]);
  writeEvents(A, 120);
  writeEvents(B, 30);
  carry(B, A, B);
  writeEvents(X, 5);
  const write = async (site: Site, name: string, options: { networkKey: Uint8Array | null; network?: string; compress?: boolean }) => {
    const path = join(dir, name);
    await exportBundle(site.store, { path }, { signer: site.signer, network: NETWORK, chunkBytes: 1024, ...options });
    return readFileSync(path);
  };
  sealed = await write(A, "sealed.bundle", { networkKey: KEY });
  plain = await write(A, "plain.bundle", { networkKey: null, compress: false });
  foreign = await write(X, "x.bundle", { networkKey: KEY });
  otherNetwork = await write(A, "other.bundle", { networkKey: KEY, network: "other-net" });
});

/** Imports `bytes` at T and asserts it is refused with one of `problems` and that T still holds nothing. */
async function assertRefused(bytes: Buffer, problems: readonly BundleProblem[], label: string, options: ImportOptions = importOptions): Promise<ImportResult> {
  const r = await importBundle(T.store, { bytes, name: "stick.bundle" }, options);
  assert.equal(r.ok, false, `${label}: accepted`);
  if (r.ok) return r;
  assert.ok(problems.includes(r.problem), `${label}: ${r.problem} (${r.message}), expected ${problems.join(" or ")}`);
  assert.match(r.message, /^stick\.bundle: nothing was imported: .+; .+/, `${label}: the message names the file and what to do`);
  assert.equal(T.store.eventCount(), 0, `${label}: events were ingested`);
  assert.equal(T.store.gapBufferSize(), 0, `${label}: events were buffered`);
  return r;
}

const LAYOUT_OR_SIGNATURE: readonly BundleProblem[] = ["not-a-bundle", "unsupported-version", "truncated", "damaged", "bad-signature"];

describe("bundle tampering", () => {
  it("has many chunks to tamper with", () => {
    assert.ok(layoutOf(sealed).chunks.length >= 10);
    assert.ok(layoutOf(plain).chunks.length >= 10);
  });

  for (const [label, file] of [["sealed", () => sealed], ["unsealed", () => plain]] as const) {
    it(`refuses a ${label} bundle with any flipped byte`, async () => {
      const b = file();
      const l = layoutOf(b);
      const rand = seededRandom(label.length);
      const positions = new Set<number>();
      for (let i = 0; i < l.headerEnd; i++) positions.add(i);
      for (const c of l.chunks) for (let i = 0; i < CHUNK_HEAD_BYTES; i++) positions.add(c.start + i);
      for (let i = l.sigStart; i < b.length; i++) positions.add(i);
      for (let i = 0; i < 150; i++) positions.add(l.headerEnd + Math.floor(rand() * (l.sigStart - l.headerEnd)));
      for (const at of positions) {
        const bad = Buffer.from(b);
        bad[at] = (bad[at] as number) ^ (1 << (at % 8));
        await assertRefused(bad, LAYOUT_OR_SIGNATURE, `${label}, byte ${at} flipped`);
      }
    });
  }

  it("refuses a bundle truncated anywhere, and one with bytes appended", async () => {
    const l = layoutOf(sealed);
    const cuts = new Set([0, 1, 7, 8, 9, 12, PREAMBLE_BYTES, l.headerEnd - 1, l.headerEnd, sealed.length - 64, sealed.length - 1]);
    for (const c of l.chunks) for (const d of [-1, 0, 1, CHUNK_HEAD_BYTES]) cuts.add(c.start + d);
    for (let i = 0; i < sealed.length; i += 211) cuts.add(i);
    for (const cut of cuts) {
      const r = await assertRefused(sealed.subarray(0, cut), ["truncated"], `cut at ${cut}`);
      if (!r.ok) assert.match(r.message, /ends too early/);
    }
    await assertRefused(Buffer.concat([sealed, Buffer.from([0])]), ["damaged"], "one byte appended");
  });

  it("refuses chunks swapped or dropped, even when the exporter signs the result", async () => {
    const l = layoutOf(sealed);
    const swap = (b: Buffer) => {
      const [c1, c2] = [chunkAt(b, 1), chunkAt(b, 2)];
      return Buffer.concat([b.subarray(0, c1.start), b.subarray(c2.start, c2.end), b.subarray(c1.start, c1.end), b.subarray(c2.end)]);
    };
    await assertRefused(swap(sealed), ["bad-signature"], "sealed chunks swapped");
    await assertRefused(swap(plain), ["bad-signature"], "unsealed chunks swapped");
    const swapped = resign(swap(sealed).subarray(0, l.sigStart), A.signer);
    await assertRefused(swapped, ["malformed-content"], "sealed chunks swapped and re-signed");
    const c3 = chunkAt(sealed, 3);
    const dropped = Buffer.concat([sealed.subarray(0, c3.start), sealed.subarray(c3.end, l.sigStart)]);
    await assertRefused(resign(dropped, A.signer), ["malformed-content"], "a sealed chunk dropped and re-signed");
    const last = l.chunks.at(-2) as { start: number; end: number };
    const early = Buffer.from(sealed.subarray(0, last.end));
    early[last.start] = 1; // flag the one before the last as final
    await assertRefused(resign(early, A.signer), ["malformed-content"], "the final chunk dropped, the one before flagged final, re-signed");
  });

  it("refuses a sealed bundle without the key or under another, saying which", async () => {
    const wrong = await assertRefused(sealed, ["wrong-key"], "wrong key", { networkKey: new Uint8Array(32).fill(9), network: NETWORK });
    if (!wrong.ok) assert.match(wrong.message, /different network key/);
    const none = await assertRefused(sealed, ["no-key"], "no key", { networkKey: null, network: NETWORK });
    if (!none.ok) assert.match(none.message, /has none configured/);
  });

  it("refuses a bundle from a site that is not a member, or from another network", async () => {
    const r = await assertRefused(foreign, ["non-member"], "non-member exporter");
    if (!r.ok) assert.ok(r.message.includes(X.signer.author) && /add its key to the members/.test(r.message));
    const n = await assertRefused(otherNetwork, ["foreign-network"], "another network");
    if (!n.ok) assert.match(n.message, /"other-net".+"kaduna-wash"/);
  });

  it("refuses what is not a bundle, and says when a file cannot be read", async () => {
    await assertRefused(Buffer.from("PK\u0003\u0004 a zip file, not a bundle"), ["not-a-bundle"], "a zip");
    const newer = Buffer.from(sealed);
    newer[8] = 2;
    await assertRefused(newer, ["unsupported-version"], "format 2");
    const missing = await importBundle(T.store, { path: join(dir, "no-such.bundle") }, importOptions);
    assert.ok(!missing.ok && missing.problem === "unreadable" && missing.message.includes("no-such.bundle"), JSON.stringify(missing));
    const path = join(dir, "empty.bundle");
    writeFileSync(path, "");
    const empty = await verifyBundle(T.store, { path }, importOptions);
    assert.ok(!empty.ok && empty.problem === "truncated");
  });

  it("rejects headers this version does not write", () => {
    const author = new Uint8Array(32).fill(1);
    const header = (feeds: unknown[]) => encodeCanonical([NETWORK, author, 1, new Uint8Array(16), true, 1, feeds as never]);
    assert.ok(parseHeader(header([[author, 1, 5]])));
    assert.equal(parseHeader(header([[author, 1, 5], [author, 6, 9]])), null, "an author twice");
    assert.equal(parseHeader(header([[author, 5, 4]])), null, "from > to");
    assert.equal(parseHeader(header([[author, 0, 4]])), null, "seq 0");
    assert.equal(parseHeader(encodeCanonical([NETWORK, author, 1, new Uint8Array(16), true, 7, []])), null, "unknown compression");
  });

  it("stops, keeping what it verified, when the file changes between the check and the ingest", async () => {
    const path = join(dir, "changing.bundle");
    writeFileSync(path, sealed);
    const last = chunkAt(sealed, layoutOf(sealed).chunks.length - 1);
    const changed = Buffer.from(sealed);
    changed[last.end - 1] = (changed[last.end - 1] as number) ^ 1;
    const U = openSite(dir, "U");
    sites.push(U);
    U.store.addMember(A.signer.author);
    const onProgress = (p: { phase: string; bytes: number; totalBytes: number | null }) => {
      if (p.phase === "verify" && p.bytes === p.totalBytes) writeFileSync(path, changed);
    };
    const r = await importBundle(U.store, { path }, { ...importOptions, batchEvents: 10, onProgress });
    assert.ok(!r.ok && r.problem === "changed-while-importing", JSON.stringify(r));
    assert.ok(r.counts.applied > 0 && r.counts.applied === U.store.eventCount(), JSON.stringify(r.counts));
    assert.match(r.message, /import stopped after \d+ new events .+ changed while it was being imported/);
  });

  it("still imports the untouched bundles after all that", async () => {
    const r = await importBundle(T.store, { bytes: sealed }, importOptions);
    assert.ok(r.ok && r.counts.applied === 150, JSON.stringify(r));
    const again = await importBundle(T.store, { bytes: plain }, importOptions);
    assert.ok(again.ok && again.counts.duplicates === 150);
  });
});
