/**
 * A configured site for service tests: a Kobo double on loopback with the
 * household form, a site config pointing at it (validated like a real one),
 * a real SQLite file in a temp dir, and the site itself, polls driven by the
 * test.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKoboDouble, type KoboDouble } from "../../src/bridge/doubles/kobo-double.js";
import { generateSigner, type Signer } from "../../src/engine/crypto.js";
import { silentLogger } from "../../src/log/logger.js";
import { parseSiteConfig, type SiteConfig } from "../../src/service/site-config.js";
import { createSite, type Site } from "../../src/service/site.js";
import type { LinkFactory } from "../../src/service/site-radio.js";
import type { Clock } from "../../src/radio/clock.js";
import { householdAsset, TOKEN } from "./bridge-sites.js";

export const HTTP_TOKEN = "test-http-token-0123456789abcdef";
export const ASSET_UID = "aHouseholdSurveyKoboS1";

export interface ServiceSite {
  readonly kobo: KoboDouble;
  readonly site: Site;
  readonly config: SiteConfig;
  readonly dir: string;
  /** One household submission at the Kobo double; returns its record id (rootUuid). */
  submit(village: string, head: string): string;
  close(): Promise<void>;
}

export interface ServiceSiteOptions {
  readonly name?: string;
  readonly signer?: Signer;
  readonly links?: unknown[];
  readonly makeLink?: LinkFactory;
  /** The site's radio clock; links on a shared simulated medium need the medium's clock. */
  readonly clock?: Clock;
  readonly members?: { name: string; key: string }[];
  /** The household mapping's attachment policy (default none). */
  readonly attachments?: { policy: "none" | "metadata" } | { policy: "transfer"; max_bytes: number };
}

export async function startServiceSite(o: ServiceSiteOptions = {}): Promise<ServiceSite> {
  const kobo = createKoboDouble({ token: TOKEN });
  kobo.addAsset(householdAsset(ASSET_UID));
  const url = await kobo.start(0);
  const dir = mkdtempSync(join(tmpdir(), "meshlogd-site-"));
  const config = parseSiteConfig({
    site: { name: o.name ?? "base-camp" },
    network: { name: "test-net", members: o.members ?? [] },
    links: o.links ?? [],
    server: { kind: "kobo", url, token: TOKEN },
    mappings: [{ type: "household", source: { kobo: { asset: ASSET_UID } }, ...(o.attachments ? { attachments: o.attachments } : {}) }],
    http: { token: HTTP_TOKEN },
  });
  const site = createSite({
    config, signer: o.signer ?? generateSigner().signer, dataDir: dir, log: silentLogger, manualPolls: true,
    ...(o.makeLink ? { makeLink: o.makeLink } : {}), ...(o.clock ? { clock: o.clock } : {}),
  });
  await site.start();
  return {
    kobo, site, config, dir,
    submit: (village, head) =>
      String(kobo.submitLocal(ASSET_UID, { village, "hh/head_name": head, "hh/size": "4", visit_date: "2026-11-20", needs: "water", location: "-1.2921 36.8219 1650.0 5.0" })["meta/rootUuid"]),
    async close() {
      await site.stop();
      await kobo.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
