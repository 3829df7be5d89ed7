/**
 * What a person should act on, worded for the admin page's banner, the
 * status API and /api/health: the form server's state, the database and the
 * poll round, each form's last errors, links that are down, recent clock
 * skew, and members removed by another site.
 *
 * The lines are worded from a few readings (AttentionReadings). The status
 * summary passes what it already read; /api/health, polled often by docker
 * and monitoring, reads only these (readAttention), never the whole summary:
 * no record counts, no airtime history, no blob status.
 */
import type { FormStatus } from "../bridge/bridge.js";
import type { AuthorId } from "../engine/ids.js";
import { removalNotes } from "./removal-notes.js";
import type { SiteProblemState } from "./site-problems.js";
import type { ServerState, Site } from "./site.js";

/** Violations within this long are shown: a clock fixed a day ago is news no more. */
export const SKEW_ATTENTION_MS = 24 * 3_600_000;

/** One author whose stamps this site's clock would not follow: how often, when last, how far ahead. */
export interface SkewViolationSummary {
  readonly author: AuthorId;
  readonly name: string | null;
  readonly count: number;
  readonly lastAt: string;
  readonly aheadH: number;
}

/** The bound on followed clock skew and the authors whose stamps went beyond it. */
export interface SkewSummary {
  readonly maxForwardSkewH: number;
  readonly violations: readonly SkewViolationSummary[];
}

/** What a link's attention line needs of it (LinkStatus's words; LinkSummary has them too). */
export interface LinkAttention {
  readonly index: number;
  readonly kind: string;
  readonly target: string;
  readonly state: string;
  readonly reason: string | null;
}

/** What a form's attention lines need of its status. */
export type FormAttention = Pick<FormStatus, "describe" | "lastPollError" | "lastWriteError"> & { readonly files: Pick<FormStatus["files"], "lastError"> };

/** Everything the attention lines are worded from; each read once by whoever builds it. */
export interface AttentionReadings {
  readonly server: ServerState;
  readonly problems: SiteProblemState;
  readonly forms: readonly FormAttention[];
  readonly links: readonly LinkAttention[];
  readonly skew: SkewSummary;
  /** Removal events that need the admin's eye (removal-notes.ts). */
  readonly removals: readonly string[];
}

/** The form server's state, its forms' errors and the database's problems. */
export function serverProblems(r: Pick<AttentionReadings, "server" | "problems" | "forms">): string[] {
  const { server: s, problems: p } = r;
  const out: string[] = [];
  if (p.storage) out.push(`The database cannot be written: ${p.storage}`);
  if (p.round) out.push(`A poll round failed: ${p.round} (see the log)`);
  if (s.state === "unreachable") out.push(`The form server cannot be reached: ${s.error ?? "no answer"}`);
  if (s.state === "refused") out.push(`The form server refuses this site's credentials, so nothing is polled or written: ${s.error ?? ""}`);
  if (s.state === "mapping") out.push(`The mappings do not fit the form server, so nothing is polled or written: ${s.error ?? ""} Fix the mappings in the config and restart meshlogd.`);
  for (const f of r.forms) {
    if (f.lastPollError) out.push(`Polling ${f.describe} fails: ${f.lastPollError}`);
    if (f.lastWriteError) out.push(`Writing to ${f.describe} fails: ${f.lastWriteError}`);
    if (f.files.lastError) out.push(`Reading attachments from ${f.describe} fails (retried on later polls): ${f.files.lastError}`);
  }
  return out;
}

/** Links that are down, with their reason and what to check. */
export function linkProblems(links: readonly LinkAttention[]): string[] {
  const what = (l: LinkAttention) =>
    l.kind === "rnode"
      ? `Check that the RNode on ${l.target} is plugged in and powered (links[${l.index}].port); meshlogd reconnects by itself`
      : `Check the network and links[${l.index}]; meshlogd keeps trying`;
  return links
    .filter((l) => l.state === "down")
    .map((l) => `${l.kind === "rnode" ? "The radio" : "The link"} on ${l.target} is down: ${l.reason ?? "no reason given"}. ${what(l)}.`);
}

/** Authors whose stamps ran beyond the bound within the last SKEW_ATTENTION_MS. */
export function clockProblems(skew: SkewSummary, now: number): string[] {
  return skew.violations
    .filter((v) => now - Date.parse(v.lastAt) < SKEW_ATTENTION_MS)
    .map((v) => {
      const who = v.name ?? v.author.slice(0, 16);
      const ahead = v.aheadH >= 48 ? `${(v.aheadH / 24).toFixed(1)} days` : `${v.aheadH} hours`;
      return `${v.count} ${v.count === 1 ? "event" : "events"} by ${who} carry clock stamps up to ${ahead} ahead of this machine's clock (the bound is ${skew.maxForwardSkewH} h; last ${v.lastAt}): ` +
        `check the date and time on ${who}'s machine (or on this one, if every site is named). They were applied; this site's clock did not follow them.`;
    });
}

/** The attention lines, in the banner's order; empty when all is well. */
export function attentionLines(r: AttentionReadings, now: number): string[] {
  return [...serverProblems(r), ...linkProblems(r.links), ...clockProblems(r.skew, now), ...r.removals];
}

/** The site's clock-skew bound and the violations its store counted, with the members' names. */
export function readSkew(site: Site): SkewSummary {
  const names = new Map(site.store.members().map((m) => [m.author, m.name] as const));
  return {
    maxForwardSkewH: site.config.clock.max_forward_skew_h,
    violations: site.store.skewViolations().map((v) => ({
      author: v.author, name: names.get(v.author) ?? null, count: v.count, lastAt: new Date(v.lastAt).toISOString(), aheadH: Math.round(v.aheadMs / 360_000) / 10,
    })),
  };
}

/** The removal events that need the admin's eye. */
export function readRemovals(site: Site): string[] {
  return removalNotes(site.store, site.config, site.signer.author);
}

/** Only what the attention lines need, each read once: each link's own state, not the station's or the blobs'. */
export function readAttention(site: Site): AttentionReadings {
  return {
    server: site.server(),
    problems: site.problems(),
    forms: site.bridge.status().forms,
    links: site.radios.map((r) => {
      const ls = r.link.status();
      return { index: r.index, kind: ls.kind, target: ls.target, state: ls.state, reason: ls.reason ?? null };
    }),
    skew: readSkew(site),
    removals: readRemovals(site),
  };
}
