/**
 * Secrets: identity and network keys never logged, key files 0600 and
 * refused when others may read them, the API on 127.0.0.1 unless configured
 * otherwise.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { IdentityFileError, loadIdentity, loadOrCreateIdentity } from "../../src/engine/store/identity-file.js";
import { createServiceLogger } from "../../src/log/terminal-logger.js";
import { parseSiteConfig } from "../../src/service/site-config.js";
import { recordHardening } from "./ledger.js";

describe("hardening: secrets", () => {
  const dir = mkdtempSync(join(tmpdir(), "meshlogd-secrets-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("an identity key is created 0600 and refused at every mode others could read", () => {
    const file = join(dir, "data", "identity.pem");
    loadOrCreateIdentity(file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const open = [0o640, 0o604, 0o644, 0o660, 0o666, 0o700 | 0o010];
    for (const mode of open) {
      chmodSync(file, mode);
      assert.throws(() => loadIdentity(file), (e: unknown) => e instanceof IdentityFileError && e.message.includes(`chmod 600 ${file}`));
    }
    chmodSync(file, 0o600);
    assert.ok(loadIdentity(file).author);
    recordHardening({ area: "secrets", tried: `identity key created, then opened at ${open.length} group/world-readable modes`, held: "created 0600; every readable mode refused with the chmod to run", ok: true });
  });

  it("no configured secret reaches a log line, whatever field or escaping carries it", () => {
    const secrets = { token: "kobo-token-7f3a9c2e11", password: "pa$$w\"ord-with-quote", key: Buffer.alloc(32, 5).toString("base64"), http: "http-token-0123456789abcdef" };
    for (const format of ["json", "pretty"] as const) {
      const lines: string[] = [];
      const log = createServiceLogger({ level: "debug", format, secrets: Object.values(secrets), write: (l) => lines.push(l) });
      log.info(`connecting with ${secrets.token}`, { url: `http://x/?t=${secrets.http}`, nested: { key: secrets.key, pw: secrets.password } });
      log.child({ auth: secrets.password }).error("failed", { error: `401 for token ${secrets.token}` });
      const text = lines.join("\n");
      for (const s of Object.values(secrets)) {
        assert.equal(text.includes(s), false, `${format}: a secret reached the log`);
        assert.equal(text.includes(JSON.stringify(s).slice(1, -1)), false, `${format}: an escaped secret reached the log`);
      }
      assert.match(text, /\[redacted\]/);
    }
    recordHardening({ area: "secrets", tried: "4 secrets (token, password with a quote, network key, HTTP token) logged in messages, fields, nested fields and child loggers, JSON and pretty", held: "none appears, plain or JSON-escaped", ok: true });
  });

  it("the API binds 127.0.0.1 unless the config says otherwise", () => {
    const config = parseSiteConfig({
      site: { name: "s" }, network: { name: "n" },
      server: { kind: "kobo", url: "http://kf.local", token: "t" }, mappings: [{ type: "x", source: { kobo: { asset: "a" } } }],
    });
    assert.equal(config.http.bind, "127.0.0.1");
    recordHardening({ area: "secrets", tried: "a config without http.bind", held: "the API listens on 127.0.0.1 only", ok: true });
  });
});
