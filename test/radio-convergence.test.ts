/**
 * Convergence on the simulated LoRa air: randomized trials of 5–7 sites in
 * line, star and mesh topologies, partitioned while they write and healed,
 * with 10 %, 30 % and 50 % frame loss and the collisions the medium makes
 * when transmissions overlap. Every trial must end with identical frontiers
 * and views everywhere, and no station may ever have used more airtime than
 * its duty-cycle budget in any window, as measured on the air itself.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RadioNetwork, type RadioSite } from "../src/demo/radio-network.js";
import { seededRandom } from "../src/engine/random.js";
import { lineTopology, meshTopology, starTopology, type TopologySpec } from "../src/radio/lora-topology.js";
import { auditAir } from "./support/airtime-audit.js";

const TRIALS = 102;
const LOSSES = [0.1, 0.3, 0.5] as const;
const SHAPES = ["line", "star", "mesh"] as const;
const HOUR = 3_600_000;

function topologyOf(shape: (typeof SHAPES)[number], names: string[], loss: number): TopologySpec {
  if (shape === "line") return lineTopology(names, { loss });
  if (shape === "star") return starTopology(names[0] as string, names.slice(1), { loss });
  return meshTopology(names, { loss });
}

/** Two random islands (each at least one site). */
function split(names: string[], random: () => number): string[][] {
  const shuffled = [...names].sort(() => random() - 0.5);
  const cut = 1 + Math.floor(random() * (names.length - 1));
  return [shuffled.slice(0, cut), shuffled.slice(cut)];
}

function uuid(n: number): string {
  return `uuid:00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}

/** A few submissions per site, some edited elsewhere, one deleted. */
function write(sites: RadioSite[], random: () => number, firstRecord: number): number {
  let n = firstRecord;
  const records: string[] = [];
  for (const s of sites) {
    const count = 1 + Math.floor(random() * 3);
    for (let i = 0; i < count; i++) {
      const id = uuid(n++);
      records.push(id);
      s.upsert(id, "household", { village: ["north", "south"][i % 2] as string, "hh/size": 1 + Math.floor(random() * 9), notes: `visit ${n}` });
    }
  }
  for (const s of sites) if (random() < 0.4) s.upsert(records[Math.floor(random() * records.length)] as string, "household", { "hh/size": 12 });
  if (random() < 0.5) sites[0]?.remove(records[0] as string, "household");
  return n;
}

async function trial(t: number): Promise<void> {
  const random = seededRandom(1000 + t);
  const shape = SHAPES[t % SHAPES.length] as (typeof SHAPES)[number];
  const loss = LOSSES[Math.floor(t / SHAPES.length) % LOSSES.length] as number;
  const names = Array.from({ length: 5 + (t % 3) }, (_, i) => `s${i}`);
  const dutyFraction = t % 2 === 0 ? 0.01 : 0.1;
  const net = new RadioNetwork({ names, seed: t + 1, topology: topologyOf(shape, names, loss), dutyFraction, sealed: t % 4 === 0 });
  const audit = auditAir(net.medium);
  try {
    await net.start();
    net.medium.partition(split(names, random));
    const next = write(net.sites, random, t * 1000);
    net.runFor(HOUR * random());
    net.medium.partition(split(names, random)); // a different split while more is written
    write(net.sites.filter(() => random() < 0.5), random, next);
    net.runFor(HOUR * random());
    net.medium.heal();
    net.runFor(120 * HOUR, () => net.converged());
    const label = `trial ${t}: ${names.length} sites, ${shape}, loss ${loss}, duty ${dutyFraction}`;
    assert.ok(net.converged(), `${label}: frontiers differ after 120 h`);
    const view = net.sites[0]!.store.viewBytes();
    for (const s of net.sites) assert.ok(s.store.viewBytes().equals(view), `${label}: ${s.name}'s view differs`);
    for (const s of net.sites) {
      const worst = audit.maxWindowAirtime(s.name, HOUR);
      assert.ok(worst <= dutyFraction * HOUR + 1e-6, `${label}: ${s.name} used ${worst.toFixed(0)} ms of airtime in one hour`);
    }
  } finally {
    audit.stop();
    await net.close();
  }
}

describe("convergence on the simulated LoRa air", () => {
  it(`${TRIALS} randomized trials converge within the duty-cycle budget`, async () => {
    for (let t = 0; t < TRIALS; t++) await trial(t);
  });
});

describe("stations heard", () => {
  it("are the stations in range, by member name, with their link's RSSI and SNR, and none behind once converged", async () => {
    const names = ["s0", "s1", "s2"];
    const net = new RadioNetwork({ names, seed: 3, topology: lineTopology(names, { rssi: -101, snr: 4.5 }) });
    try {
      await net.start();
      net.sites.forEach((s, i) => s.upsert(uuid(i), "household", { "hh/size": i + 1 }));
      net.runFor(24 * HOUR, () => net.converged());
      assert.ok(net.converged());
      net.runFor(HOUR);
      const heard = (name: string) => net.site(name).station.status().heard.map((h) => h.name).sort();
      assert.deepEqual(heard("s1"), ["s0", "s2"]);
      assert.deepEqual(heard("s0"), ["s1"], "s0 is out of s2's range");
      for (const h of net.site("s1").station.status().heard) {
        assert.equal(h.rssi, -101);
        assert.equal(h.snr, 4.5);
        assert.equal(h.behind, 0);
        assert.equal(h.ahead, 0);
      }
    } finally {
      await net.close();
    }
  });
});
