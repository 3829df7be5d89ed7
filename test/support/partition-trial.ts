/**
 * One randomized partition trial (see test/convergence-trials.test.ts): sites
 * collect and edit records while islanded, then heal in stages over a lossy,
 * duplicating, reordering medium.
 */
import { frontierTotal } from "../../src/engine/frontier.js";
import { seededRandom } from "../../src/engine/random.js";
import { SimNetwork, type SimSite } from "../../src/demo/sim-network.js";

const HOUR = 3_600_000;

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** Random islands: a partition of `names` into 1..n groups. */
function randomIslands(random: () => number, names: readonly string[]): string[][] {
  const count = 1 + Math.floor(random() * Math.min(4, names.length));
  const groups: string[][] = Array.from({ length: count }, () => []);
  for (const n of names) pick(random, groups).push(n);
  return groups.filter((g) => g.length > 0);
}

/** Merges islands pairwise until one remains: the stages of healing. */
function healStages(random: () => number, islands: string[][]): string[][][] {
  const stages: string[][][] = [];
  let current = islands.map((g) => [...g]);
  while (current.length > 1) {
    const i = Math.floor(random() * current.length);
    let j = Math.floor(random() * (current.length - 1));
    if (j >= i) j++;
    const merged = [...(current[i] as string[]), ...(current[j] as string[])];
    current = current.filter((_, k) => k !== i && k !== j).concat([merged]);
    stages.push(current.map((g) => [...g]));
  }
  return stages;
}

function collect(random: () => number, site: SimSite, records: string[], trial: number): number {
  let made = 0;
  const n = 1 + Math.floor(random() * 5);
  for (let i = 0; i < n; i++) {
    const roll = random();
    if (roll < 0.5 || records.length === 0) {
      const id = `uuid:${trial.toString(16).padStart(8, "0")}-0000-4000-8000-${(records.length + 1).toString(16).padStart(12, "0")}`;
      records.push(id);
      site.upsert(id, pick(random, ["water_point", "shelter"]), { status: pick(random, ["open", "closed"]), count: Math.floor(random() * 100), by: site.name });
    } else if (roll < 0.9) {
      site.upsert(pick(random, records), "water_point", { status: pick(random, ["open", "closed", "at_capacity"]), note: `edit by ${site.name}` });
    } else {
      site.remove(pick(random, records), "water_point");
    }
    made++;
  }
  return made;
}

/** Runs trial number `trial` (its seed) to convergence or six virtual hours. */
export function runTrial(trial: number): { converged: boolean; frontiersEqual: boolean; viewsEqual: boolean; expected: number; held: number[] } {
  const random = seededRandom(10_000 + trial);
  const size = 5 + Math.floor(random() * 3);
  const names = Array.from({ length: size }, (_, i) => `s${i}`);
  const net = new SimNetwork({
    names,
    seed: trial,
    medium: { loss: 0.2, duplicate: 0.1, delayMs: [5, 400] },
    clockOffsetMs: () => Math.floor((random() - 0.5) * 60_000),
  });
  try {
    const records: string[] = [];
    let expected = 0;
    const islands = randomIslands(random, names);
    net.medium.setIslands(islands);
    for (const site of net.sites) expected += collect(random, site, records, trial);
    net.runFor(30_000 + random() * 120_000);
    for (const stage of healStages(random, islands)) {
      net.medium.setIslands(stage);
      // Records are edited concurrently on every island between stages.
      for (const site of net.sites) if (random() < 0.5) expected += collect(random, site, records, trial);
      net.runFor(random() * 300_000);
    }
    net.medium.setIslands(null);
    net.runFor(6 * HOUR, () => net.converged() && frontierTotal(net.sites[0]!.store.frontier()) === expected);
    const frontiers = net.sites.map((s) => JSON.stringify([...s.store.frontier()].sort()));
    const views = net.sites.map((s) => s.store.viewBytes().toString("hex"));
    return {
      converged: net.converged(),
      frontiersEqual: frontiers.every((f) => f === frontiers[0]),
      viewsEqual: views.every((v) => v === views[0]),
      expected,
      held: net.sites.map((s) => s.store.eventCount()),
    };
  } finally {
    net.close();
  }
}

