/**
 * Two sites as `meshlogd run` processes, as the hardening tests need them: a
 * KoboToolbox double (site 0, "kobo-site") and an ODK Central double
 * (site 1, "odk-site") in the test process, reached over loopback HTTP; the
 * sites' UDP links joined through a relay in the test process
 * (support/udp-relay.ts). The configs and identities are written once; the
 * tests start, kill and restart the processes themselves.
 *
 * The radio side is a UDP link between the two processes: a virtual RNode
 * lives inside one process, and a site's config offers only rnode and udp
 * links, so UDP is the link two real processes can share.
 *
 * Imported by tests only; no side effects.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKoboDouble, type KoboDouble } from "../../../src/bridge/doubles/kobo-double.js";
import { createOdkCentralDouble, type OdkCentralDouble } from "../../../src/bridge/doubles/odk-central-double.js";
import type { FaultInjector } from "../../../src/bridge/doubles/faults.js";
import type { Signer } from "../../../src/engine/crypto.js";
import { loadOrCreateIdentity } from "../../../src/engine/store/identity-file.js";
import { DATABASE_FILE } from "../../../src/service/site.js";
import { householdAsset, ODK_USER, TOKEN } from "../../support/bridge-sites.js";
import { freeUdpPort, writeConfig } from "../../support/site-process.js";
import { startUdpRelay, type UdpRelay } from "./udp-relay.js";

export const KOBO_UID = "aHouseholdSurveyKoboH1";
export const HTTP_TOKEN = "hardening-test-token-0123456789";
const NETWORK_KEY = Buffer.alloc(32, 9).toString("hex");
const fixture = (name: string): string => readFileSync(new URL(`../../../../test/fixtures/${name}`, import.meta.url), "utf8");

export interface SiteFiles {
  readonly name: string;
  readonly index: 0 | 1;
  readonly configFile: string;
  readonly dataDir: string;
  readonly dbPath: string;
  readonly signer: Signer;
}

export interface ProcessWorld {
  readonly root: string;
  readonly kobo: KoboDouble;
  readonly odk: OdkCentralDouble;
  readonly project: number;
  readonly form: string;
  readonly relay: UdpRelay;
  readonly sites: readonly [SiteFiles, SiteFiles];
  /** The environment the configs' ${…} secrets come from. */
  readonly env: Record<string, string>;
  /** The fault injector of site i's server. */
  faults(i: 0 | 1): FaultInjector;
  close(): Promise<void>;
}

export interface ProcessWorldOptions {
  /** Cron schedule of polls (default every second). */
  readonly poll?: string;
  readonly requestTimeoutS?: number;
  readonly logLevel?: "debug" | "info";
}

/** Creates the doubles, the relay, both sites' identities and configs; starts no site. */
export async function makeProcessWorld(o: ProcessWorldOptions = {}): Promise<ProcessWorld> {
  const root = mkdtempSync(join(tmpdir(), "meshlogd-hard-"));
  const kobo = createKoboDouble({ token: TOKEN });
  kobo.addAsset(householdAsset(KOBO_UID));
  const koboUrl = await kobo.start(0);
  const odk = createOdkCentralDouble({ users: [ODK_USER] });
  const odkUrl = await odk.start(0);
  const project = odk.addProject("Household survey");
  const form = odk.addForm(project, fixture("odk-household.xml"));
  const ports = [await freeUdpPort(), await freeUdpPort()] as const;
  const relay = await startUdpRelay(ports);
  const names = ["kobo-site", "odk-site"] as const;
  const signers = names.map((n) => loadOrCreateIdentity(join(root, n, "data", "identity.pem")).signer);
  const sites = ([0, 1] as const).map((i): SiteFiles => {
    const other = i === 0 ? 1 : 0;
    const dataDir = join(root, names[i], "data");
    const configFile = writeConfig(join(root, names[i]), {
      site: { name: names[i] },
      network: { name: "hardening", key: "${MESHLOGD_NETWORK_KEY}", members: [{ name: names[other], key: signers[other]!.author }] },
      links: [{ kind: "udp", bind: `127.0.0.1:${ports[i]}`, peers: [`127.0.0.1:${relay.peerPortFor[i]}`] }],
      schedule: { poll: o.poll ?? "* * * * * *" },
      request_timeout_s: o.requestTimeoutS ?? 10,
      http: { bind: "127.0.0.1", port: 0, token: "${MESHLOGD_HTTP_TOKEN}" },
      log: { level: o.logLevel ?? "info", format: "json" },
      ...(i === 0
        ? { server: { kind: "kobo", url: koboUrl, token: "${KOBO_TOKEN}" }, mappings: [{ type: "household", source: { kobo: { asset: KOBO_UID } } }] }
        : { server: { kind: "odk", url: odkUrl, email: "${ODK_EMAIL}", password: "${ODK_PASSWORD}" }, mappings: [{ type: "household", source: { odk: { project, form } } }] }),
    });
    return { name: names[i], index: i, configFile, dataDir, dbPath: join(dataDir, DATABASE_FILE), signer: signers[i]! };
  }) as unknown as readonly [SiteFiles, SiteFiles];
  return {
    root, kobo, odk, project, form, relay, sites,
    env: { MESHLOGD_NETWORK_KEY: NETWORK_KEY, MESHLOGD_HTTP_TOKEN: HTTP_TOKEN, KOBO_TOKEN: TOKEN, ODK_EMAIL: ODK_USER.email, ODK_PASSWORD: ODK_USER.password },
    faults: (i) => (i === 0 ? kobo.faults : odk.faults),
    async close() {
      await relay.close();
      await kobo.stop();
      await odk.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
