/**
 * The embedded default: what `meshlogd` with no config runs. Three sites in a
 * line — two field teams that cannot hear each other and a base camp between
 * them, which relays — each a real site (SQLite in a temp dir, bridge, HTTP API and admin
 * page) with its own KoboToolbox double, whose field teams keep submitting.
 * The sites talk through virtual RNodes (the real driver over serialport's
 * mock binding) on the simulated LoRa air, at real airtime or faster.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKoboDouble, type KoboDouble } from "../bridge/doubles/kobo-double.js";
import { loadOrCreateIdentity } from "../engine/store/identity-file.js";
import { seededRandom } from "../engine/random.js";
import { HttpListenError } from "../http/server.js";
import { createServiceLogger } from "../log/terminal-logger.js";
import type { Logger } from "../log/logger.js";
import { generateNetworkKey } from "../radio/air/network-key.js";
import { scaledClock, type Clock } from "../radio/clock.js";
import { createLoRaMedium, type LoRaMedium } from "../radio/lora-medium.js";
import { lineTopology } from "../radio/lora-topology.js";
import { createRNodeLink } from "../radio/rnode/rnode-link.js";
import { createVirtualRNode } from "../radio/rnode/virtual-rnode.js";
import { parseSiteConfig, type LoadedConfig } from "../service/site-config.js";
import { rnodeSettingsOf, type LinkFactory } from "../service/site-radio.js";
import { startSite, type RunningSite } from "../service/start-site.js";
import { demoAsset, drawAnswers } from "./demo-form.js";

/** Left to right on the line: the teams hear only the base camp. */
export const DEMO_SITES = ["team-north", "base-camp", "team-south"] as const;
/** EU 869.4–869.65 MHz (10 % duty cycle) at SF7: a demo that converges while you watch, at real airtime. */
const DEMO_RADIO = { frequency: 869_525_000, bandwidth: 125_000, spreading_factor: 7, coding_rate: 5, tx_power: 14, region: "eu-869.4-869.65" } as const;
/** A new submission somewhere every this many (simulated) ms. */
export const DEMO_ARRIVAL_MS = 45_000;

export interface EmbeddedDemoOptions {
  /** Simulated time per real time (1: real airtime). */
  readonly speed: number;
  /** First admin page port; the next sites take the next ports (a port in use falls back to any free one). */
  readonly basePort: number;
  readonly seed: number;
  /** Submissions at each team before the radios start (the test mode uses these and no arrivals). */
  readonly initialPerSite: number;
  /** Keep submitting every DEMO_ARRIVAL_MS of simulated time. */
  readonly arrivals: boolean;
  /** Lines for the person at the terminal. */
  readonly out: (line: string) => void;
  /** The sites' own logs (warnings by default). */
  readonly log?: Logger;
}

export interface DemoSite {
  readonly name: string;
  readonly kobo: KoboDouble;
  readonly running: RunningSite;
}

export interface EmbeddedDemo {
  readonly sites: readonly DemoSite[];
  readonly medium: LoRaMedium;
  /** True when every site's server holds the same records, and `atLeast` of them. */
  converged(atLeast?: number): boolean;
  /** One line: records per site and whether they agree. */
  summary(): string;
  stop(): Promise<void>;
}

const assetUid = (name: string) => `aDemo${name.replace(/[^a-z]/g, "")}Household`.slice(0, 24);

function demoLinkFactory(name: string, medium: LoRaMedium, clock: Clock, random: () => number, log: Logger): LinkFactory {
  return (config) => {
    if (config.kind !== "rnode") throw new Error("the embedded demo uses RNode links only");
    const device = createVirtualRNode({ path: config.port, air: medium.attach(name), clock, random, bootDelayMs: 200 });
    return createRNodeLink({ path: config.port, binding: device.binding, settings: rnodeSettingsOf(config), clock, logger: log, random });
  };
}

export async function startEmbeddedDemo(o: EmbeddedDemoOptions): Promise<EmbeddedDemo> {
  const clock = scaledClock(o.speed, Date.now());
  const random = seededRandom(o.seed);
  const medium = createLoRaMedium({ clock, random, topology: lineTopology([...DEMO_SITES]) });
  const root = mkdtempSync(join(tmpdir(), "meshlogd-demo-"));
  const log = o.log ?? createServiceLogger({ level: "warn", format: "auto", secrets: [] });
  const networkKey = generateNetworkKey();
  const identities = DEMO_SITES.map((name) => loadOrCreateIdentity(join(root, name, "identity.pem")).signer);
  const sites: DemoSite[] = [];
  let timer: NodeJS.Timeout | null = null;
  const submit = (i: number) => {
    const name = DEMO_SITES[i] as string;
    sites[i]?.kobo.submitLocal(assetUid(name), drawAnswers(random, name));
  };
  const recordIds = (s: DemoSite) => s.kobo.submissions(assetUid(s.name)).map((r) => String(r["meta/rootUuid"])).sort();

  try {
    for (const [i, name] of DEMO_SITES.entries()) {
      const kobo = createKoboDouble({ token: "demo-token-not-secret" });
      kobo.addAsset(demoAsset(assetUid(name)));
      const url = await kobo.start(0);
      const config = parseSiteConfig({
        site: { name },
        network: { name: "meshlogd-demo", key: networkKey, members: DEMO_SITES.flatMap((other, j) => (j === i ? [] : [{ name: other, key: identities[j]?.author }])) },
        links: [{ kind: "rnode", port: `/dev/ttyDEMO-${name}`, ...DEMO_RADIO }],
        server: { kind: "kobo", url, token: "demo-token-not-secret" },
        mappings: [{ type: "household", source: { kobo: { asset: assetUid(name) } } }],
        schedule: { poll: "*/2 * * * * *" },
        http: { bind: "127.0.0.1", port: o.basePort === 0 ? 0 : o.basePort + i },
      });
      const loaded: LoadedConfig = { config, file: "(embedded demo)", dataDir: join(root, name), identityFile: join(root, name, "identity.pem") };
      const siteLog = log.child({ site: name });
      const start = (port?: number) => startSite({ loaded, log: siteLog, clock, makeLink: demoLinkFactory(name, medium, clock, random, siteLog), ...(port !== undefined ? { port } : {}) });
      let running: RunningSite;
      try {
        running = await start();
      } catch (err) {
        if (!(err instanceof HttpListenError)) throw err;
        running = await start(0);
      }
      sites.push({ name, kobo, running });
      for (let k = 0; k < (name === "base-camp" ? 0 : o.initialPerSite); k++) submit(i);
    }
  } catch (err) {
    for (const s of sites) await s.running.stop().catch(() => undefined);
    for (const s of sites) await s.kobo.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
    throw err;
  }

  if (o.arrivals) {
    const next = () => {
      timer = setTimeout(() => {
        submit(random() < 0.5 ? 0 : 2);
        next();
      }, DEMO_ARRIVAL_MS / o.speed);
    };
    next();
  }

  const converged = (atLeast = 0) => {
    const ids = sites.map(recordIds);
    const first = ids[0] ?? [];
    return first.length >= atLeast && ids.every((x) => x.join() === first.join());
  };
  return {
    sites, medium, converged,
    summary() {
      const counts = sites.map((s) => `${s.name} ${recordIds(s).length}`).join(", ");
      const airtime = (medium.counters().airtimeMs / 1000).toFixed(1);
      return `records on each site's server: ${counts} — ${converged() ? "all the same" : "converging…"} (${airtime} s on air so far)`;
    },
    async stop() {
      if (timer) clearTimeout(timer);
      for (const s of sites) await s.running.stop();
      for (const s of sites) await s.kobo.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
