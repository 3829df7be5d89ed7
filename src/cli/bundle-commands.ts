/**
 * `meshlogd export FILE` and `meshlogd import FILE`: the site's feeds on a
 * USB stick when the radio is down. Export reads the database (safe while the
 * site runs). Import goes through the running site's API when it answers (so
 * its radio and write-back learn of the new events at once), else straight
 * into the database; either way through the same checks as radio traffic.
 */
import { createReadStream, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { Readable } from "node:stream";
import type { ReadableStream } from "node:stream/web";
import { exportBundle, importBundle, type BundleProgress } from "../bundle/index.js";
import { loadIdentity } from "../engine/store/identity-file.js";
import { parseNetworkKey } from "../radio/air/network-key.js";
import { loadSiteConfig, type LoadedConfig } from "../service/site-config.js";
import { openSiteStore } from "../service/site.js";
import { configPath, parseArgs, UsageError } from "./options.js";

/** Progress lines at most this often. */
const PROGRESS_EVERY_MS = 500;
/** How long to wait for a running site to answer before importing directly. */
const PROBE_TIMEOUT_MS = 2_000;

type Out = (line: string) => void;

function progressPrinter(err: Out): (p: BundleProgress) => void {
  let last = 0;
  return (p) => {
    const t = Date.now();
    const done = p.totalEvents !== null && p.events >= p.totalEvents;
    if (!done && t - last < PROGRESS_EVERY_MS) return;
    last = t;
    const of = p.totalEvents !== null ? ` of ${p.totalEvents}` : "";
    err(`${p.phase}: ${p.events}${of} events, ${(p.bytes / 1e6).toFixed(1)} MB`);
  };
}

function openStoreFor(loaded: LoadedConfig) {
  return openSiteStore({ config: loaded.config, signer: loadIdentity(loaded.identityFile), dataDir: loaded.dataDir });
}

export async function exportCommand(args: readonly string[], out: Out = (l) => void process.stdout.write(`${l}\n`), err: Out = (l) => void process.stderr.write(`${l}\n`)): Promise<number> {
  const { options, positional } = parseArgs(args, ["config"]);
  const file = positional[0];
  if (!file) throw new UsageError("export needs the file to write, e.g. meshlogd export /media/usb/base-camp.mlbundle");
  const loaded = loadSiteConfig(configPath(options));
  const signer = loadIdentity(loaded.identityFile);
  const store = openSiteStore({ config: loaded.config, signer, dataDir: loaded.dataDir });
  try {
    const key = loaded.config.network.key ? parseNetworkKey(loaded.config.network.key, "network.key") : null;
    const r = await exportBundle(store, { path: resolve(file) }, { signer, networkKey: key, network: loaded.config.network.name, onProgress: progressPrinter(err) });
    for (const w of r.warnings) err(`warning: ${w}`);
    out(`wrote ${file}: ${r.events} events of ${r.feeds.length} sites, ${r.bytes} bytes, ${r.sealed ? "sealed with the network key" : "NOT sealed"}`);
    return 0;
  } finally {
    store.close();
  }
}

async function runningSite(url: string): Promise<boolean> {
  try {
    const res = await fetch(new URL("api/health", url), { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return res.ok;
  } catch {
    return false;
  }
}

async function importViaApi(url: string, token: string | undefined, file: string, out: Out): Promise<number> {
  if (!token) {
    out("meshlogd: the site is running but http.token is not set, so it cannot take the bundle over its API; set a token, or stop the site and import again");
    return 1;
  }
  const res = await fetch(new URL(`api/import?name=${encodeURIComponent(basename(file))}`, url), {
    method: "POST", body: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>, duplex: "half",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream", "content-length": String(statSync(file).size) },
  } as RequestInit);
  const body = (await res.json()) as { message?: string; error?: string; warnings?: string[] };
  for (const w of body.warnings ?? []) out(`warning: ${w}`);
  out(res.ok ? `${body.message ?? "imported"} (through the running site)` : `meshlogd: ${body.error ?? `the site answered ${res.status}`}`);
  return res.ok ? 0 : 1;
}

export async function importCommand(args: readonly string[], out: Out = (l) => void process.stdout.write(`${l}\n`), err: Out = (l) => void process.stderr.write(`${l}\n`)): Promise<number> {
  const { options, positional } = parseArgs(args, ["config"]);
  const file = positional[0];
  if (!file) throw new UsageError("import needs the bundle file, e.g. meshlogd import /media/usb/field-team.mlbundle");
  const loaded = loadSiteConfig(configPath(options));
  const { config } = loaded;
  const bind = config.http.bind === "0.0.0.0" || config.http.bind === "::" ? "127.0.0.1" : config.http.bind;
  const url = `http://${bind.includes(":") ? `[${bind}]` : bind}:${config.http.port}/`;
  if (config.http.port !== 0 && (await runningSite(url))) return importViaApi(url, config.http.token, file, out);
  const store = openStoreFor(loaded);
  try {
    const key = config.network.key ? parseNetworkKey(config.network.key, "network.key") : null;
    const r = await importBundle(store, { path: resolve(file) }, { networkKey: key, network: config.network.name, onProgress: progressPrinter(err) });
    if (!r.ok) {
      out(`meshlogd: ${r.message}`);
      return 1;
    }
    for (const w of r.warnings) out(`warning: ${w}`);
    out(r.message);
    return 0;
  } finally {
    store.close();
  }
}
