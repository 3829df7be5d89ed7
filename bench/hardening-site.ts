/**
 * `meshlogd run` as a child process over a load benchmark's data directory,
 * as an operator starts it: a YAML config on disk, JSON log lines on stdout.
 * Knows when the API first answers /api/health with 200, and the child's
 * resident memory (/proc, Linux).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { request, type Agent } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { stringify } from "yaml";
import { spawnSite } from "../test/support/site-child.js";
import { LOAD_ASSET } from "./hardening-store.js";

/** Longest wait for the API to answer, or for the process to exit after SIGTERM. */
const PROCESS_WAIT_MS = 120_000;
/** How often the API is asked whether it is up while the site starts. */
const HEALTH_POLL_MS = 10;

/** A TCP port free on 127.0.0.1 right now (nothing listens on it once this returns). */
export async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === "string") throw new Error("no TCP port");
  return address.port;
}

/** What the config says: the site is the first member; its server a Kobo URL where nothing listens. */
export interface LoadConfigOptions {
  readonly dataDir: string;
  readonly members: readonly string[];
  readonly httpPort: number;
  readonly serverUrl: string;
}

/** Writes the site's config into its data directory and returns the file. */
export function writeLoadConfig(o: LoadConfigOptions): string {
  const file = join(o.dataDir, "meshlogd.yml");
  const config = {
    site: { name: "load-site-0" },
    data_dir: ".",
    network: { name: "load", members: o.members.slice(1).map((key, i) => ({ name: `load-site-${i + 1}`, key })) },
    server: { kind: "kobo", url: o.serverUrl, token: "load-bench-token" },
    mappings: [{ type: "hh_wash_survey", source: { kobo: { asset: LOAD_ASSET } } }],
    http: { bind: "127.0.0.1", port: o.httpPort },
    log: { level: "info", format: "json" },
  };
  writeFileSync(file, stringify(config));
  return file;
}

/** One GET over loopback; resolves with the status and the body's length. */
export function get(url: string, agent?: Agent): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: agent ?? false }, (res) => {
      let bytes = 0;
      res.on("data", (c: Buffer) => (bytes += c.length));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** A started site. */
export interface LoadSiteProcess {
  readonly pid: number;
  readonly url: string;
  /** From spawn to the first 200 from /api/health, ms. */
  readonly readyMs: number;
  /** From spawn to the log line "admin page and API ready", ms (null if not seen before health answered). */
  readonly logReadyMs: number | null;
  /** From spawn to the log line "site starting" (logged once the identity is loaded and the store open), ms. */
  readonly storeOpenMs: number | null;
  readonly lines: readonly string[];
  /** Resident memory now and its peak so far (bytes), from /proc/<pid>/status. */
  memory(): { rssBytes: number; peakBytes: number };
  /** CPU time the process has used so far (user + system), ms: less sensitive than wall time to other jobs on the machine. */
  cpuMs(): number;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // the command name may hold spaces
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ; // utime and stime: fields 14 and 15 of stat
}

function procKb(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(m[1]) * 1024;
}

/** Spawns `meshlogd run --config FILE` and resolves once /api/health answers 200. */
export async function startLoadSite(configFile: string, port: number): Promise<LoadSiteProcess> {
  const spawnedAt = performance.now();
  const seen: { storeOpenMs: number | null; logReadyMs: number | null } = { storeOpenMs: null, logReadyMs: null };
  const child = spawnSite(configFile, {
    onLine: (line) => {
      const at = performance.now() - spawnedAt;
      if (line.includes('"site starting"')) seen.storeOpenMs ??= at;
      if (line.includes('"admin page and API ready"')) seen.logReadyMs ??= at;
    },
  });
  const { lines } = child;
  let exited = false;
  void child.exit.then(() => (exited = true));
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (exited) throw new Error(`the site exited before its API answered:\n${lines.join("\n")}`);
    if (performance.now() - spawnedAt > PROCESS_WAIT_MS) {
      child.process.kill("SIGKILL");
      throw new Error(`the site's API did not answer within ${PROCESS_WAIT_MS} ms:\n${lines.join("\n")}`);
    }
    const r = await get(`${url}/api/health`).catch(() => null);
    if (r?.status === 200) break;
    await new Promise((done) => setTimeout(done, HEALTH_POLL_MS));
  }
  const readyMs = performance.now() - spawnedAt;
  const pid = child.process.pid as number;
  return {
    pid, url, readyMs, logReadyMs: seen.logReadyMs, storeOpenMs: seen.storeOpenMs, lines,
    memory: () => ({ rssBytes: procKb(pid, "VmRSS"), peakBytes: procKb(pid, "VmHWM") }),
    cpuMs: () => procCpuMs(pid),
    stop: async () => {
      child.process.kill("SIGTERM");
      return (await child.exit).code;
    },
  };
}
