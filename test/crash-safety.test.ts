/**
 * Crash safety: a child process ingesting into a file store is killed with
 * SIGKILL at random points, 50 times, each time restarted on the same file
 * (test/support/crash-child.ts). After every kill the store is reopened here
 * and must hold everything the child acknowledged, with every feed contiguous
 * from 1, every signature and prev link verifying, the gap buffer holding only
 * genuine waiting events, and the incremental view byte-equal to a re-fold of
 * all stored events. A last run lets the child finish the plan.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { encodeCanonical } from "../src/engine/cbor.js";
import { toAuthorId, type AuthorId, type EventId } from "../src/engine/ids.js";
import { seededRandom } from "../src/engine/random.js";
import { openStore } from "../src/engine/store/sqlite-store.js";
import { encodeWireItem } from "../src/engine/wire.js";
import { authorIndex, generatePlan, loadPlan, planEvent, type Plan } from "./support/crash-plan.js";
import { checkStore, createEventVerifier, type EventVerifier } from "./support/store-checks.js";

const ROUNDS = 50;
const SEED = 20_260_101;
const CHILD = fileURLToPath(new URL("./support/crash-child.js", import.meta.url));

/** What the child said was committed, over all runs. */
interface Acks {
  heads: number[];
  buffered: Set<string>;
  local: Map<number, EventId>;
}

interface RunResult {
  lines: string[];
  killed: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

type KillPlan =
  | { mode: "after-spawn"; ms: number }
  | { mode: "after-ready"; ms: number }
  | { mode: "after-acks"; acks: number }
  | { mode: "never" };

function runChild(dbPath: string, planPath: string, pacingSeed: number, kill: KillPlan): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, MESHLOGD_CRASH_CHILD: "1" };
  delete env.NODE_TEST_CONTEXT; // the child is a plain script, not a test file
  const child = spawn(process.execPath, [CHILD, dbPath, planPath, String(pacingSeed)], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let killed = false;
  let acks = 0;
  const timers: NodeJS.Timeout[] = [];
  const doKill = () => {
    if (killed) return;
    killed = true;
    child.kill("SIGKILL");
  };
  const later = (ms: number) => timers.push(setTimeout(doKill, ms));
  if (kill.mode === "after-spawn") {
    if (kill.ms === 0) doKill();
    else later(kill.ms);
  }
  // A guard, not an assertion: a child that hangs is killed eventually and then verified like any other.
  if (kill.mode !== "never") later(20_000);
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    const start = stdout.length;
    stdout += chunk;
    if (killed) return;
    for (const line of stdout.slice(stdout.lastIndexOf("\n", start - 1) + 1).split("\n").slice(0, -1)) {
      if (kill.mode === "after-ready" && line === "R") later(kill.ms);
      if (kill.mode === "after-acks" && (line.startsWith("A ") || line.startsWith("L ")) && ++acks >= kill.acks) doKill();
    }
  });
  child.stderr.on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      for (const t of timers) clearTimeout(t);
      // Only complete lines count: a line is printed after its call returned.
      resolve({ lines: stdout.split("\n").slice(0, -1), killed, code, signal, stderr });
    });
  });
}

function recordAcks(acks: Acks, lines: readonly string[]): void {
  for (const line of lines) {
    const [tag, ...rest] = line.split(" ");
    if (tag === "A") {
      let buffered = false;
      for (const tok of rest) {
        if (tok === "B") {
          buffered = true;
          continue;
        }
        const [a, seq] = tok.split(":").map(Number) as [number, number];
        if (buffered) acks.buffered.add(`${a}:${seq}`);
        else acks.heads[a] = Math.max(acks.heads[a] ?? 0, seq);
      }
    } else if (tag === "L") {
      acks.local.set(Number(rest[0]), rest[1] as EventId);
    }
  }
}

interface Observed {
  events: number;
  local: number;
  gap: number;
  conflicts: number;
  records: number;
  heads: number[];
}

/** Reopens the store and checks every invariant against what was acknowledged. */
function verifyStore(dbPath: string, plan: Plan, acks: Acks, verify: EventVerifier, round: string): Observed {
  const where = (msg: string) => `${round}: ${msg}`;
  const index = authorIndex(plan);
  const nameOf = (a: AuthorId) => (a === plan.local.author ? "local" : `remote-${index.get(a) ?? "?"}`);
  const store = openStore({ path: dbPath });
  try {
    const checked = checkStore(store, verify, where, nameOf);
    const heads = plan.authors.map((signer, i) => {
      const ids = checked.feeds.get(signer.author) ?? [];
      assert.ok(ids.length >= (acks.heads[i] ?? 0), where(`remote-${i}: acknowledged up to ${acks.heads[i]}, store holds ${ids.length}`));
      ids.forEach((id, j) => assert.equal(id, planEvent(plan, i, j + 1).id, where(`remote-${i}#${j + 1}: not the planned event`)));
      return ids.length;
    });
    const local = checked.feeds.get(plan.local.author) ?? [];
    for (const [seq, id] of acks.local) {
      assert.equal(local[seq - 1], id, where(`local#${seq}: acknowledged as ${id}, store holds ${local[seq - 1]}`));
    }

    // The gap buffer holds only planned events that still wait for a predecessor.
    const ixRows = store.db.prepare("SELECT ix, key FROM authors").all() as { ix: number; key: Buffer }[];
    const byIx = new Map(ixRows.map((r) => [r.ix, index.get(toAuthorId(r.key)) ?? -1]));
    const gapRows = store.db.prepare("SELECT author_ix, seq, form, item FROM gap_buffer").all() as {
      author_ix: number; seq: number; form: number; item: Buffer;
    }[];
    const waiting = new Set<string>();
    for (const row of gapRows) {
      const a = byIx.get(row.author_ix) ?? -1;
      assert.ok(a >= 0, where(`gap buffer holds an event of a non-remote author row ${row.author_ix}`));
      assert.ok(row.seq > (heads[a] as number) + 1, where(`gap buffer holds remote-${a}#${row.seq} at or next to head ${heads[a]}`));
      const ev = planEvent(plan, a, row.seq);
      const expected = row.form === 1
        ? plan.encoded[a]![row.seq - 1]!
        : encodeCanonical(encodeWireItem(ev, row.seq > 1 ? planEvent(plan, a, row.seq - 1).hlc.wall : null));
      assert.ok(row.item.equals(expected), where(`gap buffer entry remote-${a}#${row.seq} is not the planned event`));
      waiting.add(`${a}:${row.seq}`);
    }
    assert.equal(store.gapBufferSize(), gapRows.length, where("gap buffer count"));
    for (const key of acks.buffered) {
      const [a, seq] = key.split(":").map(Number) as [number, number];
      assert.ok(seq <= (heads[a] as number) || waiting.has(key), where(`buffered remote-${a}#${seq} was acknowledged and is gone`));
    }
    return { events: checked.events.length, local: local.length, gap: gapRows.length, conflicts: checked.conflicts, records: checked.records, heads };
  } finally {
    store.close();
  }
}

describe("crash safety", () => {
  it(`loses nothing acknowledged across ${ROUNDS} SIGKILLs during ingest`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "meshlogd-crash-"));
    try {
      const file = generatePlan({ seed: SEED, authors: 4, eventsPerAuthor: 300, t0: 1_767_225_600_000 });
      const planPath = join(dir, "plan.json");
      writeFileSync(planPath, JSON.stringify(file));
      const plan = loadPlan(file);
      const dbPath = join(dir, "site.sqlite");
      const acks: Acks = { heads: plan.authors.map(() => 0), buffered: new Set(), local: new Map() };
      const verify = createEventVerifier();
      const random = seededRandom(SEED);
      const phases: Record<string, number> = {};
      let aheadOfAcks = 0; // kills that landed after a commit but before its acknowledgement was printed
      let heldBeforeLastRun = 0;

      for (let round = 0; round <= ROUNDS; round++) {
        const last = round === ROUNDS;
        const r = random();
        const kill: KillPlan = last
          ? { mode: "never" }
          : round === 0
            ? { mode: "after-spawn", ms: 0 }
            : r < 0.2
              ? { mode: "after-spawn", ms: Math.floor(random() * 250) }
              : r < 0.6
                ? { mode: "after-ready", ms: Math.floor(random() * 120) }
                : { mode: "after-acks", acks: 1 + Math.floor(random() * 25) };
        const run = await runChild(dbPath, planPath, SEED + round, kill);
        const name = `round ${round} (${JSON.stringify(kill)})`;
        if (!run.killed || last) {
          assert.equal(run.code, 0, `${name}: child failed (${run.signal ?? run.code}):\n${run.stderr}`);
        } else {
          // Killed: it must not have died of anything else first.
          assert.ok(run.signal === "SIGKILL" || run.code === 0, `${name}: child failed (${run.signal ?? run.code}):\n${run.stderr}`);
        }
        const lastLine = run.lines[run.lines.length - 1] ?? "(nothing)";
        const phase = lastLine === "D" ? "finished" : lastLine.split(" ")[0]!;
        phases[phase] = (phases[phase] ?? 0) + 1;
        recordAcks(acks, run.lines);
        if (!existsSync(dbPath)) {
          assert.ok(acks.heads.every((h) => h === 0) && acks.local.size === 0, `${name}: acknowledged events but no store file`);
          continue;
        }
        const seen = verifyStore(dbPath, plan, acks, verify, name);
        if (!last && seen.heads.some((h, i) => h > (acks.heads[i] ?? 0))) aheadOfAcks++;
        if (round === ROUNDS - 1) heldBeforeLastRun = seen.events;
        if (last) {
          t.diagnostic(`kills by last line printed (S start, R open, A delivery, L local append): ${JSON.stringify(phases)}`);
          t.diagnostic(`final store: ${seen.events} events (${seen.local} local), ${seen.records} records, ${seen.conflicts} conflicts`);
          t.diagnostic(`events held after the ${ROUNDS} killed runs: ${heldBeforeLastRun}; kills after a commit and before its ack: ${aheadOfAcks}`);
          t.diagnostic(`events acknowledged while buffered in a gap: ${acks.buffered.size}`);
          assert.equal(lastLine, "D", "the last run finishes the plan");
          assert.deepEqual(seen.heads, plan.feeds.map((f) => f.length), "every planned event is held");
          assert.equal(seen.gap, 0, "nothing left waiting in the gap buffer");
          assert.ok(acks.buffered.size > 0, "the plan exercised the gap buffer");
          assert.ok(seen.conflicts > 0, "the plan exercised the conflict log");
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
