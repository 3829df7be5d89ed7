import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { ConfigError } from "../src/bridge/mapping-config.js";
import { createKoboDouble } from "../src/bridge/doubles/kobo-double.js";
import { createOdkCentralDouble } from "../src/bridge/doubles/odk-central-double.js";
import { exportCommand, importCommand } from "../src/cli/bundle-commands.js";
import { formsCommand } from "../src/cli/forms-command.js";
import { initCommand } from "../src/cli/init-command.js";
import { rnodeCommand } from "../src/cli/rnode-command.js";
import { statusCommand } from "../src/cli/status-command.js";
import { createApi } from "../src/http/api.js";
import { listenHttp } from "../src/http/server.js";
import { silentLogger } from "../src/log/logger.js";
import { loadSiteConfig, parseSiteConfig } from "../src/service/site-config.js";
import { openSiteStore } from "../src/service/site.js";
import { loadOrCreateIdentity } from "../src/engine/store/identity-file.js";
import { recordId, recordType } from "../src/engine/ids.js";
import { householdAsset, ODK_USER, TOKEN } from "./support/bridge-sites.js";
import { startServiceSite } from "./support/service-site.js";

const run = promisify(execFile);
const MAIN = new URL("../src/cli/main.js", import.meta.url).pathname;
const KEY = "a".repeat(64);

function problems(f: () => unknown): string[] {
  try {
    f();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  assert.fail("expected a ConfigError");
}

const valid = () => ({
  site: { name: "base-camp" },
  network: { name: "net", members: [{ name: "team-1", key: KEY }] },
  links: [{ kind: "rnode", port: "/dev/ttyUSB0", frequency: 868_100_000 }],
  server: { kind: "kobo", url: "http://kf.kobo.local", token: "${KOBO_TOKEN}" },
  mappings: [{ type: "household", source: { kobo: { asset: "aBc" } } }],
});

describe("site config", () => {
  it("a valid config fills the defaults: EU 1 % region, SF9/125 kHz, every minute, 127.0.0.1:8080", () => {
    const c = parseSiteConfig(valid(), { KOBO_TOKEN: "t0k3n-from-env" });
    assert.equal(c.server.kind === "kobo" && c.server.token, "t0k3n-from-env");
    const link = c.links[0];
    assert.ok(link?.kind === "rnode");
    assert.equal(link.region, "eu-868.0-868.6");
    assert.equal(link.spreading_factor, 9);
    assert.equal(link.bandwidth, 125_000);
    assert.equal(c.schedule.poll, "* * * * *");
    assert.deepEqual(c.http, { bind: "127.0.0.1", port: 8080 });
  });

  it("each mistake is named by key, with the bad value and the fix", () => {
    const bad = valid();
    Object.assign(bad.links[0] as object, { spreading_factor: 13, bandwidth: 100_000, frequency: 868.1 });
    (bad.network.members[0] as { key: string }).key = "not-a-key";
    Object.assign(bad, { schedule: { poll: "every minute" }, colour: "red" });
    const p = problems(() => parseSiteConfig(bad, { KOBO_TOKEN: "x" }));
    const find = (key: string) => p.find((x) => x.startsWith(key)) ?? assert.fail(`no problem named ${key} in:\n${p.join("\n")}`);
    assert.match(find("links[0].spreading_factor"), /use 5\.\.12 .*got 13/);
    assert.match(find("links[0].bandwidth"), /use one of .*125000.*got 100000/);
    assert.match(find("links[0].frequency"), /in Hz, e\.g\. 868100000 .*got 868\.1/);
    assert.match(find("network.members[0].key"), /meshlogd init/);
    assert.match(find("schedule.poll"), /cron expression/);
    assert.match(p.join("\n"), /colour/);
  });

  it("a secret from a missing environment variable names the key and the variable", () => {
    const p = problems(() => parseSiteConfig(valid(), {}));
    assert.deepEqual(p, ["server.token: the environment variable KOBO_TOKEN is not set (set it in the env file or the environment, or write the value here)"]);
  });

  it("a member listed twice, and a file that is not YAML, are refused", () => {
    const twice = valid();
    twice.network.members.push({ name: "team-2", key: KEY.toUpperCase() });
    assert.match(problems(() => parseSiteConfig(twice, { KOBO_TOKEN: "x" })).join(), /listed twice/);
    const dir = mkdtempSync(join(tmpdir(), "meshlogd-cfg-"));
    try {
      writeFileSync(join(dir, "bad.yml"), "site: [unclosed\n");
      assert.match(problems(() => loadSiteConfig(join(dir, "bad.yml"))).join(), /not valid YAML/);
      assert.match(problems(() => loadSiteConfig(join(dir, "missing.yml"))).join(), /no such file .*meshlogd init/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("meshlogd init", () => {
  const dir = mkdtempSync(join(tmpdir(), "meshlogd-init-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("creates a private identity and a config skeleton that validates once filled in", () => {
    const out: string[] = [];
    const file = join(dir, "meshlogd.yml");
    assert.equal(initCommand(["--config", file, "--site", "maiduguri", "--network", "ne-msna", "--new-network"], (l) => out.push(l), {}), 0);
    assert.equal(statSync(join(dir, "data", "identity.pem")).mode & 0o777, 0o600);
    const keyLine = out.find((l) => l.includes("{ name: maiduguri, key: "));
    assert.ok(keyLine, out.join("\n"));
    assert.match(out.join("\n"), /MESHLOGD_NETWORK_KEY=\S{40,}/);
    const raw = parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    assert.equal((raw.site as { name: string }).name, "maiduguri");
    // Still missing a mapping: the error says how to get one.
    const env = { KOBO_TOKEN: "t", MESHLOGD_NETWORK_KEY: Buffer.alloc(32, 1).toString("hex"), MESHLOGD_HTTP_TOKEN: "0123456789abcdef0123" };
    assert.match(problems(() => parseSiteConfig(raw, env)).join(), /mappings: map at least one form \(see `meshlogd forms`\)/);
    raw.mappings = [{ type: "household", source: { kobo: { asset: "aBc" } } }];
    writeFileSync(file, stringify(raw));
    const loaded = loadSiteConfig(file, env);
    assert.equal(loaded.identityFile, join(dir, "data", "identity.pem"));
  });

  it("a second init keeps the identity and the config", () => {
    const out: string[] = [];
    const before = readFileSync(join(dir, "data", "identity.pem"), "utf8");
    initCommand(["--config", join(dir, "meshlogd.yml"), "--site", "maiduguri"], (l) => out.push(l), {});
    assert.equal(readFileSync(join(dir, "data", "identity.pem"), "utf8"), before);
    assert.match(out.join("\n"), /identity already here/);
    assert.match(out.join("\n"), /config already here/);
  });
});

describe("meshlogd forms", () => {
  it("lists Kobo's deployed forms as mappings with their fields", async () => {
    const kobo = createKoboDouble({ token: TOKEN });
    kobo.addAsset(householdAsset("aHouseholdSurveyKoboF1"));
    const url = await kobo.start(0);
    const dir = mkdtempSync(join(tmpdir(), "meshlogd-forms-"));
    try {
      writeFileSync(join(dir, "meshlogd.yml"), stringify({ server: { kind: "kobo", url, token: "${KOBO_TOKEN}" } }));
      process.env.KOBO_TOKEN = TOKEN;
      const out: string[] = [];
      assert.equal(await formsCommand(["--config", join(dir, "meshlogd.yml")], (l) => out.push(l)), 0);
      const yamlText = out.join("\n");
      const mappings = (parse(yamlText) as { mappings: unknown[] }).mappings;
      assert.equal(mappings.length, 1);
      assert.deepEqual((mappings[0] as { source: unknown }).source, { kobo: { asset: "aHouseholdSurveyKoboF1" } });
      assert.match(yamlText, /#\s+hh\/head_name \(string\)/);
      assert.match(yamlText, /#\s+members \(repeat\)/);
      // Pasted into a config, it validates.
      parseSiteConfig({ ...valid(), mappings }, { KOBO_TOKEN: "x" });
    } finally {
      delete process.env.KOBO_TOKEN;
      await kobo.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lists Central's forms per project; a wrong password is a clear failure", async () => {
    const odk = createOdkCentralDouble({ users: [ODK_USER] });
    const url = await odk.start(0);
    const project = odk.addProject("Household survey");
    odk.addForm(project, readFileSync(new URL("../../test/fixtures/odk-household.xml", import.meta.url), "utf8"));
    const dir = mkdtempSync(join(tmpdir(), "meshlogd-forms-"));
    try {
      const file = join(dir, "meshlogd.yml");
      writeFileSync(file, stringify({ server: { kind: "odk", url, email: ODK_USER.email, password: ODK_USER.password } }));
      const out: string[] = [];
      assert.equal(await formsCommand(["--config", file], (l) => out.push(l)), 0);
      assert.match(out.join("\n"), new RegExp(`source: \\{ odk: \\{ project: ${project}, form: `));
      writeFileSync(file, stringify({ server: { kind: "odk", url, email: ODK_USER.email, password: "wrong" } }));
      const bad: string[] = [];
      assert.equal(await formsCommand(["--config", file], (l) => bad.push(l)), 1);
      assert.match(bad.join("\n"), /cannot list the forms .*401/);
    } finally {
      await odk.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("meshlogd status, rnode probe and the command line", () => {
  it("status prints the running site's state; no site is a clear failure", async () => {
    const s = await startServiceSite({ name: "status-site" });
    s.submit("north", "Amina");
    await s.site.pollNow();
    const http = await listenHttp(createApi({ site: s.site, log: silentLogger }), "127.0.0.1", 0);
    try {
      const out: string[] = [];
      assert.equal(await statusCommand(["--url", http.url], (l) => out.push(l)), 0);
      const text = out.join("\n");
      assert.match(text, /^status-site — network test-net \(UNSEALED\)/);
      assert.match(text, /form server {2}kobo .*: ok/);
      assert.match(text, /form {9}household ← .*: 1 records/);
    } finally {
      await http.close();
      await s.close();
    }
    const out: string[] = [];
    assert.equal(await statusCommand(["--url", http.url], (l) => out.push(l)), 1);
    assert.match(out.join("\n"), /no running site answers/);
  });

  it("rnode probe on a port that does not exist says so and what to do", async () => {
    const out: string[] = [];
    assert.equal(await rnodeCommand(["probe", "/dev/ttyMESHLOGD-NONE", "--timeout", "1"], (l) => out.push(l)), 1);
    assert.match(out.join("\n"), /\/dev\/ttyMESHLOGD-NONE does not exist .*by-id/);
  });

  it("--help, -h and help print the usage and exit 0", async () => {
    for (const arg of ["--help", "-h", "help"]) {
      const { stdout } = await run(process.execPath, [MAIN, arg]);
      assert.match(stdout, /^usage: meshlogd/m, arg);
    }
  });

  it("an unknown command prints the usage (exit 2); run without a config points to init (exit 1)", async () => {
    const bad = await run(process.execPath, [MAIN, "frobnicate"]).catch((e: { code: number; stderr: string }) => e);
    assert.equal((bad as { code: number }).code, 2);
    assert.match((bad as { stderr: string }).stderr, /unknown command "frobnicate"[\s\S]*usage: meshlogd/);
    const dir = mkdtempSync(join(tmpdir(), "meshlogd-run-"));
    try {
      const missing = await run(process.execPath, [MAIN, "run", "--config", join(dir, "none.yml")]).catch((e: { code: number; stderr: string }) => e);
      assert.equal((missing as { code: number }).code, 1);
      assert.match((missing as { stderr: string }).stderr, /no such file \(create one with `meshlogd init`\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("meshlogd export and import", () => {
  const dir = mkdtempSync(join(tmpdir(), "meshlogd-bundle-cli-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("carries one site's feed to another on a file, sealed, with progress", async () => {
    const key = Buffer.alloc(32, 9).toString("hex");
    const a = loadOrCreateIdentity(join(dir, "a", "data", "identity.pem")).signer;
    const b = loadOrCreateIdentity(join(dir, "b", "data", "identity.pem")).signer;
    const config = (name: string, other: { name: string; key: string }) => ({
      ...valid(), site: { name }, network: { name: "net", key, members: [other] }, links: [], http: { port: 0 },
    });
    writeFileSync(join(dir, "a", "meshlogd.yml"), stringify(config("alpha", { name: "beta", key: b.author })));
    writeFileSync(join(dir, "b", "meshlogd.yml"), stringify(config("beta", { name: "alpha", key: a.author })));
    process.env.KOBO_TOKEN = "unused-token";
    try {
      const loadedA = loadSiteConfig(join(dir, "a", "meshlogd.yml"));
      const storeA = openSiteStore({ config: loadedA.config, signer: a, dataDir: loadedA.dataDir });
      storeA.append({ kind: "upsert", record: recordId("uuid:bundle-1"), type: recordType("household"), base: null, fields: { village: "north", secret_word: "Xylophone-Quokka" } });
      storeA.close();
      const file = join(dir, "alpha.mlbundle");
      const out: string[] = [];
      const progress: string[] = [];
      assert.equal(await exportCommand([file, "--config", join(dir, "a", "meshlogd.yml")], (l) => out.push(l), (l) => progress.push(l)), 0);
      assert.match(out.join("\n"), /wrote .*alpha\.mlbundle: 1 events of 1 sites, \d+ bytes, sealed with the network key/);
      assert.ok(progress.some((l) => /^export: 1 of 1 events/.test(l)), progress.join("\n"));
      assert.equal(readFileSync(file).includes(Buffer.from("Xylophone-Quokka")), false, "a sealed bundle shows no answer");
      const imported: string[] = [];
      assert.equal(await importCommand([file, "--config", join(dir, "b", "meshlogd.yml")], (l) => imported.push(l), () => {}), 0);
      const loadedB = loadSiteConfig(join(dir, "b", "meshlogd.yml"));
      const storeB = openSiteStore({ config: loadedB.config, signer: b, dataDir: loadedB.dataDir });
      try {
        assert.equal(storeB.getRecord(recordId("uuid:bundle-1"))?.fields.get("secret_word")?.value, "Xylophone-Quokka");
      } finally {
        storeB.close();
      }
      const bad: string[] = [];
      writeFileSync(join(dir, "junk.mlbundle"), "junk");
      assert.equal(await importCommand([join(dir, "junk.mlbundle"), "--config", join(dir, "b", "meshlogd.yml")], (l) => bad.push(l), () => {}), 1);
      assert.match(bad.join("\n"), /^meshlogd: /);
    } finally {
      delete process.env.KOBO_TOKEN;
    }
  });
});

describe("the example config", () => {
  it("config/meshlogd.example.yml is what `meshlogd init` writes (regenerate it from configSkeleton when that changes)", async () => {
    const { configSkeleton } = await import("../src/cli/config-skeleton.js");
    const shipped = readFileSync(new URL("../../config/meshlogd.example.yml", import.meta.url), "utf8");
    assert.equal(shipped, configSkeleton({ site: "my-site", network: "my-network", server: "kobo", dataDir: "./data" }));
  });
});
