/**
 * Load hardening: a site holding a million events and a hundred thousand
 * records, run as `meshlogd run` in a child process as an operator starts it.
 * Measures, as a user meets them: start-up (spawn to the API answering, the
 * median of three starts), the client-side p99 latency of GET /api/status and
 * of GET /api/records/:id (random records; sequential requests over loopback
 * after a warm-up), and the process's resident memory after those runs.
 *
 * The config's Kobo server is a loopback URL where nothing listens: the site
 * starts as it does when the form server is down, and no write-back of the
 * hundred thousand records (none of them came from that server) runs during
 * the measurement; that cost is the bridge benchmarks'.
 */
import Database from "better-sqlite3";
import { Agent } from "node:http";
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { seededRandom } from "../src/engine/random.js";
import { DATABASE_FILE } from "../src/service/site.js";
import { copySiteData, LOAD_WORKLOAD, loadSiteData, type LoadWorkload } from "./hardening-store.js";
import { freeTcpPort, get, startLoadSite, writeLoadConfig } from "./hardening-site.js";
import { log, since, type Metric } from "./metrics.js";

/** Starts measured; the median is reported. */
const STARTS = 3;
/** Requests per endpoint before measuring (JIT, SQLite page cache), and measured. */
const WARM_UP_REQUESTS = 50;
const MEASURED_REQUESTS = 500;

/** Goals of the field-hardening issue. */
export const LOAD_GOALS = { startupS: 5, p99Ms: 50, rssMb: 250 } as const;

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;

/** `count` record ids drawn at random (seeded) from the store, read before the site starts. */
function sampleRecordIds(dbFile: string, count: number): string[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    const { n } = db.prepare("SELECT max(rix) AS n FROM records").get() as { n: number };
    const byRow = db.prepare<[number], { record_id: string }>("SELECT record_id FROM records WHERE rix = ?");
    const rand = seededRandom(42);
    const out: string[] = [];
    while (out.length < count) {
      const row = byRow.get(1 + Math.floor(rand() * n));
      if (row) out.push(row.record_id);
    }
    return out;
  } finally {
    db.close();
  }
}

/** Client-side latencies (ms, sorted) of GET `paths`, one at a time over one kept-alive connection. */
async function latencies(base: string, paths: readonly string[], warmUp: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const out: number[] = [];
    for (let i = 0; i < paths.length; i++) {
      const t = performance.now();
      const r = await get(`${base}${paths[i]}`, agent);
      const ms = since(t);
      if (r.status !== 200) throw new Error(`GET ${paths[i]} answered ${r.status}`);
      if (i >= warmUp) out.push(ms);
    }
    return out.sort((a, b) => a - b);
  } finally {
    agent.destroy();
  }
}

function describe(what: string, sorted: readonly number[]): string {
  return `${what}: p50 ${quantile(sorted, 0.5).toFixed(1)} ms, p99 ${quantile(sorted, 0.99).toFixed(1)} ms, max ${(sorted[sorted.length - 1] ?? 0).toFixed(1)} ms`;
}

/** Runs the load benchmark; returns its metrics. */
export async function benchLoad(workload: LoadWorkload = LOAD_WORKLOAD): Promise<Metric[]> {
  const data = loadSiteData(workload);
  const runDir = resolve(".tmp", "bench-load-run");
  copySiteData(data, runDir);
  const [port, closedPort] = [await freeTcpPort(), await freeTcpPort()];
  const config = writeLoadConfig({ dataDir: runDir, members: data.members, httpPort: port, serverUrl: `http://127.0.0.1:${closedPort}` });
  const ids = sampleRecordIds(join(runDir, DATABASE_FILE), WARM_UP_REQUESTS + MEASURED_REQUESTS);
  log(`hardening: site of ${data.events} events, ${data.records} records, ${data.conflicts} conflict entries; ${STARTS} starts`);

  const starts: number[] = [];
  let metrics: Metric[] = [];
  for (let i = 0; i < STARTS; i++) {
    const site = await startLoadSite(config, port);
    try {
      starts.push(site.readyMs);
      log(
        `hardening: start ${i + 1}: API answered after ${site.readyMs.toFixed(0)} ms ` +
          `(store open at ${site.storeOpenMs?.toFixed(0) ?? "?"} ms, "ready" logged at ${site.logReadyMs?.toFixed(0) ?? "?"} ms; ${site.cpuMs().toFixed(0)} ms of CPU), ` +
          `rss ${(site.memory().rssBytes / 2 ** 20).toFixed(0)} MiB`,
      );
      if (i < STARTS - 1) continue;
      const cpuBefore = site.cpuMs();
      const statusMs = await latencies(site.url, Array.from({ length: WARM_UP_REQUESTS + MEASURED_REQUESTS }, () => "/api/status"), WARM_UP_REQUESTS);
      log(`hardening: ${describe("GET /api/status", statusMs)}`);
      const recordMs = await latencies(site.url, ids.map((id) => `/api/records/${encodeURIComponent(id)}`), WARM_UP_REQUESTS);
      log(`hardening: ${describe("GET /api/records/:id", recordMs)}`);
      log(`hardening: the site used ${((site.cpuMs() - cpuBefore) / (2 * (WARM_UP_REQUESTS + MEASURED_REQUESTS))).toFixed(2)} ms of CPU per request`);
      const mem = site.memory();
      log(`hardening: rss ${(mem.rssBytes / 2 ** 20).toFixed(0)} MiB after the latency runs (peak ${(mem.peakBytes / 2 ** 20).toFixed(0)} MiB)`);
      metrics = [
        { metric: "hardening.status_p99_ms", value: quantile(statusMs, 0.99), unit: "ms" },
        { metric: "hardening.record_p99_ms", value: quantile(recordMs, 0.99), unit: "ms" },
        { metric: "hardening.rss_mb_1m_events", value: mem.rssBytes / 1e6, unit: "MB" },
      ];
    } finally {
      const code = await site.stop();
      if (code !== 0) log(`hardening: the site exited with ${String(code)} after SIGTERM:\n${site.lines.slice(-5).join("\n")}`);
    }
  }
  rmSync(runDir, { recursive: true, force: true });
  log(`hardening: start-up ${starts.map((ms) => (ms / 1000).toFixed(2)).join(", ")} s`);
  const all = [{ metric: "hardening.startup_s_1m_events", value: median(starts) / 1000, unit: "s" }, ...metrics];
  const goal: Record<string, number> = {
    "hardening.startup_s_1m_events": LOAD_GOALS.startupS, "hardening.status_p99_ms": LOAD_GOALS.p99Ms,
    "hardening.record_p99_ms": LOAD_GOALS.p99Ms, "hardening.rss_mb_1m_events": LOAD_GOALS.rssMb,
  };
  const missed = all.filter((m) => m.value >= (goal[m.metric] ?? Infinity)).map((m) => m.metric);
  log(`hardening: ${missed.length === 0 ? "every goal met" : `goals missed: ${missed.join(", ")}`}`);
  return all;
}
