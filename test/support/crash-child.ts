/**
 * The process test/crash-safety.test.ts kills. It opens a file store, works
 * through the plan from wherever the store says it got to, and after every
 * ingest or append call has returned (committed) prints what is now held:
 *
 *   S                     started, before opening the store
 *   R                     store open, members added
 *   A <i>:<head> …        after a delivery: head seq of each remote author it touched
 *   B <i>:<seq> …         after a delivery: events it left in the gap buffer
 *   L <seq> <id>          after a local append
 *   D                     plan finished
 *
 * Run as: node crash-child.js <db path> <plan path> <pacing seed>, with
 * MESHLOGD_CRASH_CHILD=1 in the environment. Without it (node --test loads
 * every file under dist/test/) the module does nothing.
 */
import { readFileSync } from "node:fs";
import type { CborValue } from "../../src/engine/cbor.js";
import type { EventBody } from "../../src/engine/event.js";
import { recordType } from "../../src/engine/ids.js";
import { seededRandom } from "../../src/engine/random.js";
import { openStore, type IngestReport } from "../../src/engine/store/sqlite-store.js";
import { encodeWireItem } from "../../src/engine/wire.js";
import { loadPlan, planEvent, type PlanFile } from "./crash-plan.js";

function out(line: string): void {
  // stdout is a pipe: writes are synchronous on Linux, so a printed line was printed before the next call starts.
  process.stdout.write(`${line}\n`);
}

function main(dbPath: string, planPath: string, pacingSeed: number): void {
  out("S");
  const plan = loadPlan(JSON.parse(readFileSync(planPath, "utf8")) as PlanFile);
  const random = seededRandom(pacingSeed);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const pace = () => {
    const ms = Math.floor(random() * 3);
    if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
  };

  const store = openStore({ path: dbPath, signer: plan.local }); // durability: default ("full")
  plan.authors.forEach((a, i) => store.addMember(a.author, `remote-${i}`));
  out("R");
  const head = (i: number) => store.headSeq(plan.authors[i]!.author);

  for (const step of plan.file.steps) {
    if (step.kind === "local") {
      // The local feed is not reproducible (it is stamped by the clock); the plan only fixes its length.
      while (store.headSeq(plan.local.author) < step.target) {
        const rid = plan.records[Math.floor(random() * plan.records.length)]!;
        const seen = store.getRecord(rid);
        const base = seen && random() < 0.8 ? { wall: seen.lastWrite.wall, counter: seen.lastWrite.counter } : null;
        const type = recordType(seen?.type ?? "water_point");
        const body: EventBody = random() < 0.1
          ? { kind: "delete", record: rid, type, base }
          : { kind: "upsert", record: rid, type, base, fields: { q1: `local ${store.headSeq(plan.local.author)}`, local_note: random() < 0.5 } };
        const ev = store.append(body);
        out(`L ${ev.seq} ${ev.id}`);
      }
      pace();
      continue;
    }

    // Discover progress from the store: a delivery whose events are all held is done.
    if (step.items.every(([a, seq]) => head(a) >= seq)) continue;
    let report: IngestReport;
    if (step.form === "wire") {
      const [a, start] = step.items[0]!;
      const items: CborValue[] = step.items.map(([, seq]) =>
        encodeWireItem(planEvent(plan, a, seq), seq > 1 ? planEvent(plan, a, seq - 1).hlc.wall : null),
      );
      report = store.ingestWire(plan.authors[a]!.author, start, items);
    } else if (step.form === "encoded") {
      report = store.ingestEncoded(step.items.map(([a, seq]) => plan.encoded[a]![seq - 1]!));
    } else {
      report = store.ingest(step.items.map(([a, seq]) => planEvent(plan, a, seq)));
    }
    const refused = Object.keys(report.refused);
    if (refused.length > 0) throw new Error(`plan events refused: ${JSON.stringify(report.refused)}`);
    const touched = [...new Set(step.items.map(([a]) => a))];
    const buffered = step.items.filter((_, k) => report.outcomes[k]?.status === "buffered");
    out(`A ${touched.map((a) => `${a}:${head(a)}`).join(" ")}${buffered.length ? ` B ${buffered.map(([a, s]) => `${a}:${s}`).join(" ")}` : ""}`);
    pace();
  }
  store.close();
  out("D");
}

if (process.env.MESHLOGD_CRASH_CHILD === "1") {
  const [dbPath, planPath, seed] = process.argv.slice(2);
  if (!dbPath || !planPath) throw new Error("usage: crash-child.js <db path> <plan path> <pacing seed>");
  main(dbPath, planPath, Number(seed ?? 1));
}
