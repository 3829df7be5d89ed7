/**
 * `meshlogd status`: asks the running site (its HTTP API) how it is and
 * prints it for a person: the site, the form server, links and stations
 * heard, records, the outbox, and anything that needs attention.
 */
import type { SiteSummary } from "../service/site-status.js";
import { loadHttpAddress } from "../service/site-config.js";
import { configPath, parseArgs } from "./options.js";

/** How long to wait for the site to answer. */
const STATUS_TIMEOUT_MS = 5_000;

interface Peer { link: number; station: string; name: string | null; lastHeardAt: string; rssi: number | null; snr: number | null; behind: number | null; ahead: number | null }

const ago = (iso: string, now: number) => {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 90 ? `${s} s ago` : s < 5400 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
};

/** The summary as lines of text. */
export function formatStatus(s: SiteSummary, peers: readonly Peer[], now = Date.now()): string[] {
  const lines = [
    `${s.site.name} — network ${s.site.network}${s.site.sealed ? " (sealed)" : " (UNSEALED)"}, up ${Math.round(s.site.uptimeS / 60)} min, meshlogd ${s.site.version}`,
    `form server  ${s.server.kind} ${s.server.url}: ${s.server.state}${s.server.error ? ` — ${s.server.error}` : ""}`,
    `store        ${s.store.events} events from ${s.store.authors} sites, ${s.store.records} records, ${s.store.conflicts} conflicts`,
    `outbox       ${s.outbox.pending} pending, ${s.outbox.written} written, ${s.outbox.failed} failed`,
  ];
  for (const f of s.forms) {
    lines.push(`form         ${f.type} ← ${f.describe}: ${f.records?.alive ?? 0} records${f.lastPollError ? `; poll fails: ${f.lastPollError}` : ""}`);
  }
  for (const l of s.links) {
    const pct = l.airtime.budgetMs > 0 ? ((100 * l.airtime.usedMs) / l.airtime.budgetMs).toFixed(0) : "0";
    lines.push(`link ${l.index}       ${l.kind} ${l.target}: ${l.state}${l.reason ? ` (${l.reason})` : ""}; airtime ${pct} % of the ${l.region} budget used; ${l.framesSent} frames out, ${l.framesReceived} in`);
  }
  for (const p of peers) {
    const signal = p.rssi !== null ? `, RSSI ${p.rssi} dBm, SNR ${p.snr ?? "?"} dB` : "";
    lines.push(`  heard      ${p.name ?? p.station} ${ago(p.lastHeardAt, now)}${signal}; it lacks ${p.behind ?? "?"}, we lack ${p.ahead ?? "?"}`);
  }
  if (s.attention.length > 0) {
    lines.push("", "NEEDS ATTENTION:");
    for (const a of s.attention) lines.push(`  - ${a}`);
  }
  return lines;
}

export async function statusCommand(args: readonly string[], out: (line: string) => void = (l) => void process.stdout.write(`${l}\n`)): Promise<number> {
  const { options } = parseArgs(args, ["config", "url"]);
  const base = options.get("url") ?? loadHttpAddress(configPath(options)).url;
  let status: SiteSummary;
  let peers: Peer[];
  try {
    const get = async (path: string) => {
      const res = await fetch(new URL(path, base), { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`${path} answered ${res.status}`);
      return res.json() as Promise<unknown>;
    };
    status = (await get("api/status")) as SiteSummary;
    peers = ((await get("api/peers")) as { peers: Peer[] }).peers;
  } catch (err) {
    out(`meshlogd: no running site answers at ${base} (${err instanceof Error ? err.message : String(err)}); is \`meshlogd run\` started, and is http.port right?`);
    return 1;
  }
  for (const l of formatStatus(status, peers)) out(l);
  return status.attention.length > 0 ? 3 : 0;
}
