/**
 * Two sites as real processes: `meshlogd run` with YAML configs, one site on
 * a KoboToolbox double and one on an ODK Central double, linked by UDP on
 * loopback. Records converge both ways; SIGTERM stops a site cleanly; while
 * it is down its server takes new submissions; after a restart everything
 * converges again, and neither server ever holds a duplicate.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createKoboDouble, type KoboDouble } from "../src/bridge/doubles/kobo-double.js";
import { createOdkCentralDouble, type OdkCentralDouble } from "../src/bridge/doubles/odk-central-double.js";
import { loadOrCreateIdentity } from "../src/engine/store/identity-file.js";
import { householdAsset, ODK_USER, TOKEN } from "./support/bridge-sites.js";
import { freeUdpPort, startSiteProcess, waitFor, writeConfig, type SiteProcess } from "./support/site-process.js";

const KOBO_UID = "aHouseholdSurveyKoboP1";
const HTTP_TOKEN = "process-test-token-0123456789";
const NETWORK_KEY = Buffer.alloc(32, 7).toString("hex");
const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), "utf8");

describe("meshlogd run: two site processes, Kobo and ODK Central, over UDP", () => {
  const root = mkdtempSync(join(tmpdir(), "meshlogd-proc-"));
  let kobo: KoboDouble;
  let odk: OdkCentralDouble;
  let project: number;
  let form: string;
  let a: SiteProcess | undefined;
  let b: SiteProcess | undefined;
  let configA = "";
  let configB = "";
  const env = { MESHLOGD_NETWORK_KEY: NETWORK_KEY, MESHLOGD_HTTP_TOKEN: HTTP_TOKEN, KOBO_TOKEN: TOKEN, ODK_EMAIL: ODK_USER.email, ODK_PASSWORD: ODK_USER.password };

  const koboIds = () => kobo.submissions(KOBO_UID).map((r) => String(r["meta/rootUuid"]));
  const odkIds = () => odk.submissions(project, form).map((s) => s.instanceId);
  const same = (x: string[], y: string[]) => x.length === y.length && [...x].sort().join() === [...y].sort().join();

  before(async () => {
    kobo = createKoboDouble({ token: TOKEN });
    kobo.addAsset(householdAsset(KOBO_UID));
    const koboUrl = await kobo.start(0);
    odk = createOdkCentralDouble({ users: [ODK_USER] });
    const odkUrl = await odk.start(0);
    project = odk.addProject("Household survey");
    form = odk.addForm(project, fixture("odk-household.xml"));
    const [portA, portB] = [await freeUdpPort(), await freeUdpPort()];
    const idA = loadOrCreateIdentity(join(root, "a", "data", "identity.pem")).signer;
    const idB = loadOrCreateIdentity(join(root, "b", "data", "identity.pem")).signer;
    const common = (name: string, port: number, peer: number, members: { name: string; key: string }[]) => ({
      site: { name },
      network: { name: "process-test", key: "${MESHLOGD_NETWORK_KEY}", members },
      links: [{ kind: "udp", bind: `127.0.0.1:${port}`, peers: [`127.0.0.1:${peer}`] }],
      schedule: { poll: "* * * * * *" },
      http: { bind: "127.0.0.1", port: 0, token: "${MESHLOGD_HTTP_TOKEN}" },
      log: { level: "info", format: "json" },
    });
    configA = writeConfig(join(root, "a"), {
      ...common("kobo-site", portA, portB, [{ name: "odk-site", key: idB.author }]),
      server: { kind: "kobo", url: koboUrl, token: "${KOBO_TOKEN}" },
      mappings: [{ type: "household", source: { kobo: { asset: KOBO_UID } } }],
    });
    configB = writeConfig(join(root, "b"), {
      ...common("odk-site", portB, portA, [{ name: "kobo-site", key: idA.author }]),
      server: { kind: "odk", url: odkUrl, email: "${ODK_EMAIL}", password: "${ODK_PASSWORD}" },
      mappings: [{ type: "household", source: { odk: { project, form } } }],
    });
    [a, b] = await Promise.all([startSiteProcess(configA, env), startSiteProcess(configB, env)]);
  });

  after(async () => {
    await a?.stop().catch(() => null);
    await b?.stop().catch(() => null);
    await kobo.stop();
    await odk.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("converges new submissions from both servers onto both", async () => {
    kobo.submitLocal(KOBO_UID, { village: "north", "hh/head_name": "Amina", "hh/size": "5", visit_date: "2026-11-20" });
    odk.submitLocal(project, form, { village: "south", "hh/head_name": "Baraka", "hh/size": "3", visit_date: "2026-11-19" });
    await waitFor("both servers to hold both records", () => koboIds().length === 2 && same(koboIds(), odkIds()));
    const villages = kobo.submissions(KOBO_UID).map((r) => r.village).sort();
    assert.deepEqual(villages, ["north", "south"], "the Central record's answers reached Kobo");
  });

  it("stops cleanly on SIGTERM, leaving nothing secret in its log", async () => {
    const lines = a?.lines ?? [];
    assert.equal(await a?.stop(), 0);
    a = undefined;
    assert.ok(lines.some((l) => l.includes("site stopped; the database is closed")), lines.join("\n"));
    const log = lines.join("\n");
    for (const secret of [NETWORK_KEY, HTTP_TOKEN, TOKEN, ODK_USER.password]) assert.equal(log.includes(secret), false, "a secret reached the log");
  });

  it("after a restart, what arrived meanwhile converges, and no server holds a duplicate", async () => {
    kobo.submitLocal(KOBO_UID, { village: "east", "hh/head_name": "Chausiku", "hh/size": "2", visit_date: "2026-11-21" });
    odk.submitLocal(project, form, { village: "west", "hh/head_name": "Dalili", "hh/size": "6", visit_date: "2026-11-21" });
    a = await startSiteProcess(configA, env);
    await waitFor("both servers to hold all four records", () => koboIds().length === 4 && same(koboIds(), odkIds()));
    assert.equal(new Set(koboIds()).size, koboIds().length, "a duplicate submission at Kobo");
    assert.equal(new Set(odkIds()).size, odkIds().length, "a duplicate submission at Central");
    const status = (await (await fetch(new URL("api/status", a.url))).json()) as { store: { records: number }; outbox: { failed: number } };
    assert.equal(status.store.records, 4);
    assert.equal(status.outbox.failed, 0);
  });
});
