/**
 * Crashes: two running sites — `meshlogd run` processes with real SQLite
 * files, one on a KoboToolbox double and one on an ODK Central double, their
 * UDP links joined through a relay in this process — are killed with SIGKILL
 * again and again while people keep submitting and editing at both servers.
 * The radio side is a UDP link between the processes: a virtual RNode lives
 * inside one process, and a config offers only rnode and udp links.
 *
 * Kill moments are spread over what a site does: a random delay after the
 * spawn (start-up, store opening, anything), or a few ms after the n-th poll
 * request reaches its server (polling, ingest of the page), after the n-th
 * write request reaches it (write-back: the server may store it and the site
 * never hear), or after the n-th sync frame is delivered to it (radio ingest).
 *
 * After every kill, with the site down: its chains verify, its view equals a
 * re-fold, nothing its API had reported holding is missing, no feed was
 * rewritten or forked, and neither server holds a record twice. At the end
 * both sites run undisturbed: the outboxes drain, both servers hold the same
 * records with the same answers and no duplicates, every record people
 * created and did not delete is there, both views are byte-equal, and no
 * site turned its own write-backs into new changes.
 *
 * Default: DEFAULT_KILLS kills (fits the CI budget); MESHLOGD_SOAK=1 runs
 * SOAK_KILLS, MESHLOGD_CRASH_KILLS=N runs N. The ledger row states the number
 * actually tried.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { isRecordBody } from "../../src/engine/event.js";
import { recordId } from "../../src/engine/ids.js";
import { seededRandom } from "../../src/engine/random.js";
import { isAlive } from "../../src/engine/record-state.js";
import { createEventVerifier } from "../support/store-checks.js";
import { recordHardening } from "./ledger.js";
import { checkAfterKill, newHistory, watchFrontier, type KillCheck, type SiteHistory } from "./support/crash-checks.js";
import { currentVersions, serverRecords, startFieldWorkload, type FieldWorkload } from "./support/field-workload.js";
import { KOBO_UID, makeProcessWorld, type ProcessWorld } from "./support/process-sites.js";
import { waitConverged } from "./support/site-api.js";
import { spawnSite, type SiteChild } from "../support/site-child.js";

const DEFAULT_KILLS = 50;
const SOAK_KILLS = 200;
const KILLS = Number(process.env.MESHLOGD_CRASH_KILLS ?? (process.env.MESHLOGD_SOAK === "1" ? SOAK_KILLS : DEFAULT_KILLS));
const SEED = Number(process.env.MESHLOGD_CRASH_SEED ?? 20_261_121);
/** A kill whose trigger never comes (no write was due) happens this long after the spawn. */
const FALLBACK_KILL_MS = 5_000;
/** How often the test asks a running site what it holds (its acknowledgements). */
const ACK_POLL_MS = 100;
/** Longest wait for both sites to converge once the kills stop. */
const SETTLE_MS = 120_000;

type Trigger = "poll" | "write" | "sync";
type KillPlan = { readonly mode: "delay"; readonly ms: number } | { readonly mode: Trigger; readonly nth: number; readonly jitterMs: number };

function choosePlan(random: () => number): KillPlan {
  const r = random();
  if (r < 0.25) return { mode: "delay", ms: Math.floor(random() * 4_000) };
  if (r < 0.45) return { mode: "poll", nth: 1 + Math.floor(random() * 3), jitterMs: Math.floor(random() * 40) };
  // Half the write kills land before the server has answered: it stores the write, the site never hears.
  if (r < 0.75) return { mode: "write", nth: 1, jitterMs: random() < 0.5 ? 0 : Math.floor(random() * 30) };
  return { mode: "sync", nth: 1 + Math.floor(random() * 3), jitterMs: Math.floor(random() * 20) };
}

/** What a request to a form server is, seen from the server. */
function requestKind(method: string, path: string): Trigger | null {
  if (method === "GET") return path.includes("/data") || path.includes(".svc/Submissions") ? "poll" : null;
  return path === "/submission" || /\/submissions(\/|$)/.test(path) || path.includes("/data/") ? "write" : null;
}

interface Tally {
  kills: number;
  beforeReady: number;
  byMode: Record<string, number>;
  plannedAtKill: number;
  /** Planned writes the server had stored when the site died without hearing so. */
  landedUnheard: number;
  pendingAtKill: number;
  failedSeen: Set<string>;
}

interface Harness {
  readonly w: ProcessWorld;
  readonly random: () => number;
  readonly verify: ReturnType<typeof createEventVerifier>;
  readonly history: readonly [SiteHistory, SiteHistory];
  /** Called by the request and frame watchers with what reached site i. */
  readonly hooks: [(t: Trigger) => void, (t: Trigger) => void];
  readonly tally: Tally;
}

/** Arms the kill of plan; frames count only once the site is up (before, they hit a closed port). */
function armKill(h: Harness, i: 0 | 1, child: SiteChild, plan: KillPlan, up: () => boolean): { triggered: () => boolean; clear: () => void } {
  const kill = () => child.process.kill("SIGKILL");
  let triggered = false;
  let seen = 0;
  const timers: NodeJS.Timeout[] = [];
  if (plan.mode === "delay") timers.push(setTimeout(kill, plan.ms));
  else {
    timers.push(setTimeout(kill, FALLBACK_KILL_MS));
    h.hooks[i] = (t) => {
      if (t !== plan.mode || (t === "sync" && !up()) || ++seen !== plan.nth) return;
      triggered = true;
      // Zero jitter kills at once, inside the server's request handler: before it answers.
      if (plan.jitterMs === 0) kill();
      else timers.push(setTimeout(kill, plan.jitterMs));
    };
  }
  return {
    triggered: () => triggered,
    clear: () => {
      for (const t of timers) clearTimeout(t);
      h.hooks[i] = () => {};
    },
  };
}

/** One run of site i: spawn, kill by plan, check the database. */
async function runAndKill(h: Harness, i: 0 | 1, round: number): Promise<KillCheck> {
  const plan = choosePlan(h.random);
  const child = spawnSite(h.w.sites[i].configFile, { env: h.w.env });
  let wasReady = false;
  const armed = armKill(h, i, child, plan, () => wasReady);
  const stopWatch = new AbortController();
  void child.ready.then((url) => {
    if (!url) return;
    wasReady = true;
    void watchFrontier(url, h.history[i], ACK_POLL_MS, stopWatch.signal);
  });
  const spawnedAt = performance.now();
  const exit = await child.exit;
  if (process.env.MESHLOGD_CRASH_DEBUG) console.log(h.w.sites[i].name, round, JSON.stringify(plan), armed.triggered(), Math.round(performance.now() - spawnedAt));
  stopWatch.abort();
  armed.clear();
  const where = (m: string) => `${h.w.sites[i].name}, kill ${round} (${JSON.stringify(plan)}): ${m}`;
  assert.equal(exit.signal, "SIGKILL", where(`the site ended by itself (${exit.code}):\n${child.lines.slice(-30).join("\n")}`));
  const t = h.tally;
  t.kills += 1;
  if (!wasReady) t.beforeReady += 1;
  // A trigger that did not come in time makes a late kill: still a random moment, counted apart.
  const mode = plan.mode === "delay" ? "delay" : armed.triggered() ? plan.mode : `late (no ${plan.mode} seen)`;
  t.byMode[mode] = (t.byMode[mode] ?? 0) + 1;
  const c = checkAfterKill(h.w.sites[i], h.history[i], h.history[i === 0 ? 1 : 0], h.verify, where);
  assertNoDuplicates(h.w, where);
  t.plannedAtKill += c.planned.length > 0 ? 1 : 0;
  const there = currentVersions(h.w, i);
  t.landedUnheard += c.planned.filter((id) => there.has(id)).length;
  t.pendingAtKill += c.pending > 0 ? 1 : 0;
  for (const f of c.failed) t.failedSeen.add(f);
  return c;
}

function assertNoDuplicates(w: ProcessWorld, where: (m: string) => string): void {
  for (const i of [0, 1] as const) {
    const s = serverRecords(w, i);
    assert.equal(s.count, s.records.size, where(`${i === 0 ? "Kobo" : "Central"} holds a record twice (${s.count} submissions, ${s.records.size} records)`));
  }
}

/**
 * Keeps what a failed settle leaves for diagnosis: both databases (with
 * their WAL), both sites' logs of the settle run, and what each double holds
 * (every current submission) and was asked. Returns
 * the directory.
 */
function keepEvidence(w: ProcessWorld, children: readonly SiteChild[]): string {
  const dir = mkdtempSync(join(tmpdir(), "meshlogd-crash-evidence-"));
  for (const i of [0, 1] as const) {
    for (const suffix of ["", "-wal"]) {
      if (existsSync(w.sites[i].dbPath + suffix)) copyFileSync(w.sites[i].dbPath + suffix, join(dir, `${w.sites[i].name}.sqlite${suffix}`));
    }
    writeFileSync(join(dir, `${w.sites[i].name}.log`), children[i]!.lines.join("\n"));
  }
  const maps = (_k: string, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v);
  writeFileSync(join(dir, "kobo.json"), JSON.stringify({ submissions: w.kobo.submissions(KOBO_UID), requests: w.kobo.requests }, maps));
  writeFileSync(join(dir, "central.json"), JSON.stringify({ submissions: w.odk.submissions(w.project, w.form), requests: w.odk.requests }, maps));
  return dir;
}

/** Both sites run undisturbed until everything has converged; then SIGTERM. */
async function settleAndStop(h: Harness): Promise<void> {
  const children = [0, 1].map((i) => spawnSite(h.w.sites[i as 0 | 1].configFile, { env: h.w.env }));
  try {
    const urls = await Promise.all(children.map(async (c) => (await c.ready) ?? assert.fail(`a site did not start:\n${c.lines.join("\n")}`)));
    await waitConverged(h.w, urls, SETTLE_MS).catch((err: unknown) => {
      throw new Error(`${String(err)}\nevidence kept in ${keepEvidence(h.w, children)}`);
    });
  } finally {
    for (const c of children) c.process.kill("SIGTERM");
  }
  for (const c of children) {
    const exit = await c.exit;
    assert.equal(exit.code, 0, `a site did not stop cleanly:\n${c.lines.slice(-20).join("\n")}`);
    const errors = c.logged("error");
    assert.deepEqual(errors, [], "the undisturbed runs logged no error");
  }
}

/** The end state: both stores intact and equal, nothing lost, nothing doubled. */
function checkEnd(h: Harness, work: FieldWorkload): { records: number; events: number[] } {
  const { w } = h;
  const views: Buffer[] = [];
  const events: number[] = [];
  const alive: Set<string>[] = [];
  for (const i of [0, 1] as const) {
    const site = w.sites[i];
    const where = (m: string) => `${site.name}, at the end: ${m}`;
    checkAfterKill(site, h.history[i], h.history[i === 0 ? 1 : 0], h.verify, where, (store, checked) => {
      views.push(store.viewBytes());
      events.push(checked.events.length);
      const ids = (store.db.prepare("SELECT record_id AS id FROM records").all() as { id: string }[]).map((r) => recordId(r.id));
      alive.push(new Set(ids.filter((id) => isAlive(store.getRecord(id)!))));
      // Our own write-backs polled back are echoes, not changes: the site's record events are at most what people did at its server.
      const own = checked.events.filter((ev) => ev.author === site.signer.author && isRecordBody(ev.body)).length;
      const people = work.done[i].creates + work.done[i].edits + work.done[i].deletes;
      assert.ok(own <= people, where(`${own} record events of its own for ${people} actions of people at its server: a write-back came back as a change`));
    });
  }
  assert.ok(views[0]!.equals(views[1]!), "both sites' views are byte-equal");
  const [kobo, central] = [serverRecords(w, 0), serverRecords(w, 1)];
  assert.equal(kobo.count, kobo.records.size, "no record twice at Kobo");
  assert.equal(central.count, central.records.size, "no record twice at Central");
  assert.deepEqual([...kobo.records.keys()].sort(), [...central.records.keys()].sort(), "both servers hold the same records");
  assert.deepEqual([...alive[0]!].sort(), [...kobo.records.keys()].sort(), "the view's live records are the servers' records");
  for (const id of kobo.records.keys()) assert.ok(work.created.has(id), `a record nobody created: ${id}`);
  for (const id of work.created) if (!work.deleted.has(id)) assert.ok(kobo.records.has(id), `lost: ${id}, created and never deleted`);
  return { records: kobo.records.size, events };
}

/** The diagnostics and the ledger row: what was tried, counted honestly. */
function report(t: TestContext, h: Harness, work: FieldWorkload, end: { records: number; events: number[] }, killsS: number, totalMs: number): void {
  const tl = h.tally;
  const people = work.done.map((d) => `${d.creates} new, ${d.edits} edits, ${d.deletes} deletions`);
  t.diagnostic(`kills: ${tl.kills} (${tl.beforeReady} before the API was ready), by trigger ${JSON.stringify(tl.byMode)}, in ${killsS.toFixed(1)} s`);
  t.diagnostic(`kills with a write planned and not known landed: ${tl.plannedAtKill} (writes the server had stored unheard: ${tl.landedUnheard}); with writes pending: ${tl.pendingAtKill}`);
  t.diagnostic(`people at Kobo: ${people[0]}; at Central: ${people[1]}; frames relayed ${h.w.relay.delivered.join("/")}`);
  t.diagnostic(`end: ${end.records} records at both servers, ${end.events.join("/")} events, total ${(totalMs / 1000).toFixed(1)} s`);
  if (tl.failedSeen.size > 0) t.diagnostic(`failed outbox entries seen at kills: ${[...tl.failedSeen].slice(0, 5).join(" | ")}`);
  recordHardening({
    area: "crashes",
    tried: `SIGKILL of two meshlogd run processes (Kobo and Central doubles, UDP link) at ${tl.kills} moments: ${Object.entries(tl.byMode).map(([m, n]) => `${n} ${m}`).join(", ")} (${tl.beforeReady} during start-up; ${tl.plannedAtKill} with a write planned and unconfirmed; ${tl.landedUnheard} writes the server had stored unheard), while people made ${work.done.reduce((n, d) => n + d.creates + d.edits + d.deletes, 0)} submissions, edits and deletions`,
    held: `after every kill: chains and signatures verify, view = re-fold, nothing the API had reported is missing, no feed rewritten or forked, no record twice at either server; at the end the outboxes drain, both servers hold the same ${end.records} records with the same answers, nothing created is lost, both views are equal, no write-back came back as a change`,
    ok: true,
  });
}

describe("hardening: crashes", () => {
  it(`two site processes survive ${KILLS} SIGKILLs during polling, ingest, sync and write-back`, async (t) => {
    const started = performance.now();
    const w = await makeProcessWorld();
    const random = seededRandom(SEED);
    const h: Harness = {
      w, random, verify: createEventVerifier(), history: [newHistory(), newHistory()], hooks: [() => {}, () => {}],
      tally: { kills: 0, beforeReady: 0, byMode: {}, plannedAtKill: 0, landedUnheard: 0, pendingAtKill: 0, failedSeen: new Set() },
    };
    for (const i of [0, 1] as const) {
      w.faults(i).set({ kind: "slow", delayMs: 0 }, {
        match: (method, path) => {
          const kind = requestKind(method, path);
          if (kind) h.hooks[i](kind);
          return false; // watch only: no fault is ever applied
        },
      });
    }
    w.relay.onDeliver = (to) => h.hooks[to]("sync");
    const work = startFieldWorkload(w, { random: seededRandom(SEED + 1), pauseMs: [150, 450], editShare: 0.35, deleteShare: 0.04 });
    let ok = false;
    try {
      const perSite = [Math.ceil(KILLS / 2), Math.floor(KILLS / 2)];
      await Promise.all(([0, 1] as const).map(async (i) => {
        for (let k = 0; k < perSite[i]!; k++) await runAndKill(h, i, k);
      }));
      work.stop();
      const killsDoneS = (performance.now() - started) / 1000;
      await settleAndStop(h);
      const end = checkEnd(h, work);
      assert.equal(h.tally.kills, KILLS);
      report(t, h, work, end, killsDoneS, performance.now() - started);
      ok = true;
    } finally {
      work.stop();
      if (!ok) recordHardening({ area: "crashes", tried: `SIGKILL of two site processes, ${h.tally.kills} of ${KILLS} kills done`, held: "a check failed (see the test output)", ok: false });
      await w.close();
    }
  });
});
