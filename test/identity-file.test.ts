import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { IdentityFileError, loadIdentity, loadOrCreateIdentity } from "../src/engine/store/identity-file.js";

describe("identity key file", () => {
  const dir = mkdtempSync(join(tmpdir(), "meshlogd-id-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("is created on first run with mode 0600 and reloads as the same author", () => {
    const path = join(dir, "keys", "site.key");
    const first = loadOrCreateIdentity(path);
    assert.equal(first.created, true);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const again = loadOrCreateIdentity(path);
    assert.equal(again.created, false);
    assert.equal(again.signer.author, first.signer.author);
    const msg = Buffer.from("hello");
    assert.deepEqual(again.signer.sign(msg), first.signer.sign(msg), "Ed25519 signatures are deterministic for one key");
  });

  it("is refused when others can read it, with the chmod that fixes it", () => {
    const path = join(dir, "open.key");
    loadOrCreateIdentity(path);
    chmodSync(path, 0o644);
    assert.throws(() => loadIdentity(path), (err: unknown) => err instanceof IdentityFileError && err.message.includes(`chmod 600 ${path}`));
  });

  it("says what to do when the file is not a key", () => {
    const path = join(dir, "garbage.key");
    writeFileSync(path, "not a key", { mode: 0o600 });
    assert.throws(() => loadOrCreateIdentity(path), (err: unknown) => err instanceof IdentityFileError && /restore it from your backup/.test(err.message));
  });
});
