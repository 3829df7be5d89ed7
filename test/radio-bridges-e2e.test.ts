/**
 * End to end over radio: three sites — two on KoboToolbox doubles, one on an
 * ODK Central double — each a full site (SQLite file, bridge, station), their
 * RNodes virtual devices driven by the real driver on one simulated LoRa air
 * (sealed, 4x real time). New submissions at every server, then an edit, reach
 * every server with the same answers and no duplicates; then a photo (mapping
 * policy "transfer" at every site) reaches the other two servers with its
 * bytes, carried over the air by the radio's blob transfer.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createKoboDouble, type KoboDouble } from "../src/bridge/doubles/kobo-double.js";
import { createOdkCentralDouble, type OdkCentralDouble } from "../src/bridge/doubles/odk-central-double.js";
import { generateSigner } from "../src/engine/crypto.js";
import { seededRandom } from "../src/engine/random.js";
import { silentLogger } from "../src/log/logger.js";
import { generateNetworkKey } from "../src/radio/air/network-key.js";
import { scaledClock } from "../src/radio/clock.js";
import { createLoRaMedium } from "../src/radio/lora-medium.js";
import { meshTopology } from "../src/radio/lora-topology.js";
import { createRNodeLink } from "../src/radio/rnode/rnode-link.js";
import { createVirtualRNode } from "../src/radio/rnode/virtual-rnode.js";
import { parseSiteConfig } from "../src/service/site-config.js";
import { rnodeSettingsOf } from "../src/service/site-radio.js";
import { createSite, type Site } from "../src/service/site.js";
import { householdAsset, ODK_USER, TOKEN } from "./support/bridge-sites.js";
import { waitFor } from "./support/site-process.js";

const NAMES = ["kobo-a", "odk-b", "kobo-c"] as const;
/** Small enough to cross the air in a few chunks (211 bytes each) within the test's time. */
const PHOTO_MAX_BYTES = 2048;
const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), "utf8");

describe("three bridges over virtual RNodes on one LoRa air", () => {
  const root = mkdtempSync(join(tmpdir(), "meshlogd-e2e-"));
  const clock = scaledClock(4, Date.now());
  const random = seededRandom(21);
  const medium = createLoRaMedium({ clock, random, topology: meshTopology([...NAMES]) });
  const signers = NAMES.map(() => generateSigner().signer);
  const networkKey = generateNetworkKey();
  const kobo = new Map<string, KoboDouble>();
  let odk: OdkCentralDouble;
  let project = 0;
  let form = "";
  const sites: Site[] = [];

  const ids = (name: string): string[] =>
    (name === "odk-b" ? odk.submissions(project, form).map((s) => s.instanceId) : (kobo.get(name)?.submissions(`aE2e${name.replace("-", "")}Kobo`) ?? []).map((r) => String(r["meta/rootUuid"]))).sort();
  const agree = (n: number) => NAMES.every((x) => ids(x).length === n && ids(x).join() === ids(NAMES[0]).join());

  before(async () => {
    odk = createOdkCentralDouble({ users: [ODK_USER] });
    const odkUrl = await odk.start(0);
    project = odk.addProject("Household survey");
    form = odk.addForm(project, fixture("odk-household.xml"));
    for (const [i, name] of NAMES.entries()) {
      let server: unknown;
      let source: unknown;
      if (name === "odk-b") {
        server = { kind: "odk", url: odkUrl, ...ODK_USER };
        source = { odk: { project, form } };
      } else {
        const uid = `aE2e${name.replace("-", "")}Kobo`;
        const double = createKoboDouble({ token: TOKEN });
        double.addAsset(householdAsset(uid));
        kobo.set(name, double);
        server = { kind: "kobo", url: await double.start(0), token: TOKEN };
        source = { kobo: { asset: uid } };
      }
      const port = `/dev/ttyE2E-${name}`;
      const config = parseSiteConfig({
        site: { name },
        network: { name: "e2e", key: networkKey, members: NAMES.flatMap((other, j) => (j === i ? [] : [{ name: other, key: signers[j]?.author }])) },
        links: [{ kind: "rnode", port, frequency: 869_525_000, spreading_factor: 7, region: "eu-869.4-869.65" }],
        server,
        mappings: [{ type: "household", source, attachments: { policy: "transfer", max_bytes: PHOTO_MAX_BYTES } }],
      });
      const site = createSite({
        config, signer: signers[i]!, dataDir: join(root, name), log: silentLogger, clock, manualPolls: true,
        makeLink: (c) => {
          if (c.kind !== "rnode") throw new Error("rnode links only");
          const device = createVirtualRNode({ path: c.port, air: medium.attach(name), clock, random, bootDelayMs: 100 });
          return createRNodeLink({ path: c.port, binding: device.binding, settings: rnodeSettingsOf(c), clock, logger: silentLogger, random });
        },
      });
      await site.start();
      sites.push(site);
    }
  });

  after(async () => {
    for (const s of sites) await s.stop();
    for (const d of kobo.values()) await d.stop();
    await odk.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const pollAll = async () => {
    for (const s of sites) await s.pollNow();
  };

  it("new submissions at every server reach every server", async () => {
    kobo.get("kobo-a")?.submitLocal("aE2ekoboaKobo", { village: "north", "hh/head_name": "Amina", "hh/size": "5", needs: "water food", location: "-1.2921 36.8219 1650.0 5.0" });
    odk.submitLocal(project, form, { village: "south", "hh/head_name": "Baraka", "hh/size": "3", needs: "shelter" });
    kobo.get("kobo-c")?.submitLocal("aE2ekobocKobo", { village: "east", "hh/head_name": "Chausiku", "hh/size": "2" });
    await waitFor("three records on all three servers", async () => {
      await pollAll();
      return agree(3);
    }, 120_000);
    const villages = (kobo.get("kobo-c")?.submissions("aE2ekobocKobo") ?? []).map((r) => r.village).sort();
    assert.deepEqual(villages, ["east", "north", "south"]);
  });

  it("an edit at one server reaches the others as an edit, with no duplicate", async () => {
    const a = kobo.get("kobo-a");
    const row = a?.submissions("aE2ekoboaKobo").find((r) => r.village === "north");
    assert.ok(row && a);
    a.editLocal("aE2ekoboaKobo", Number(row._id), { "hh/size": "6" });
    await waitFor("the edit at every server", async () => {
      await pollAll();
      const c = kobo.get("kobo-c")?.submissions("aE2ekobocKobo").find((r) => r.village === "north");
      return c?.["hh/size"] === "6" && agree(3);
    }, 120_000);
    for (const s of sites) assert.equal(s.bridge.status().outbox.failed, 0);
    for (const name of NAMES) assert.equal(new Set(ids(name)).size, 3);
  });

  it("a photo taken at one Kobo server reaches the other servers with its bytes, over the air", async () => {
    const bytes = Buffer.alloc(1200, 0).map((_, i) => (i * 37 + 11) & 0xff);
    const photo = { name: "1732090000009.jpg", type: "image/jpeg", bytes };
    const a = kobo.get("kobo-a")!;
    const record = String(a.submitLocal("aE2ekoboaKobo", { village: "west", "hh/head_name": "Dalia", "hh/size": "1", photo: photo.name }, { files: [photo] })["meta/rootUuid"]);
    const fileAt = (name: (typeof NAMES)[number]): Buffer | null => {
      if (name === "odk-b") return ids("odk-b").includes(record) ? (odk.attachmentsOf(project, form, record).get(photo.name) ?? null) : null;
      const uid = `aE2e${name.replace("-", "")}Kobo`;
      const row = kobo.get(name)!.submissions(uid).find((r) => r["meta/rootUuid"] === record);
      const file = row ? kobo.get(name)!.attachmentsOf(uid, Number(row._id)).get(photo.name) : undefined;
      return file ? Buffer.from(file) : null;
    };
    const blobState = () => sites.map((s, i) => `${NAMES[i]}: file ${fileAt(NAMES[i]!) ? "there" : "missing"}, ${JSON.stringify(s.radios.map((r) => r.node.blobStatus()))}, files ${JSON.stringify(s.bridge.status().forms[0]?.files)}`).join("\n");
    await waitFor("the photo's bytes at every server", async () => {
      await pollAll();
      return NAMES.every((n) => fileAt(n)?.equals(bytes) === true);
    }, 120_000).catch((err: Error) => assert.fail(`${err.message}\n${blobState()}`));
    assert.ok(agree(4), "four records at every server, none twice");
    const chunks = sites.map((s) => s.radios.reduce((n, r) => n + (r.node.blobStatus()?.counters.chunksSent ?? 0), 0));
    assert.ok(chunks[0]! > 0, `kobo-a sent the photo's chunks (chunks sent: ${chunks.join("/")})`);
    for (const s of sites) assert.equal(s.bridge.status().outbox.failed, 0);
  });
});
