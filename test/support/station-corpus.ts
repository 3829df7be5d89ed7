/**
 * A real exchange to draw hostile frames from: three sites on the simulated
 * LoRa air (with loss, so fragments get nacked and re-sent) write records,
 * some with a vocabulary and some large enough to be fragmented, and
 * converge. Every frame put on the air is captured, and an insider holding
 * the network key reassembles every sync message they carried, so mutations
 * start from what stations really send.
 */
import { createHash } from "node:crypto";
import { RadioNetwork, type RadioSite } from "../../src/demo/radio-network.js";
import { signerFromSeed } from "../../src/engine/crypto.js";
import { recordType } from "../../src/engine/ids.js";
import { seededRandom } from "../../src/engine/random.js";
import { networkIdFromName } from "../../src/radio/air/network-key.js";
import { meshTopology } from "../../src/radio/lora-topology.js";
import { listenToAir } from "./air-insider.js";

const HOUR = 3_600_000;
const NETWORK_NAME = "station-fuzz";
/** Share of frames each link loses: enough for nacks and re-requests to show up in the capture. */
const LOSS = 0.25;

export interface CapturedExchange {
  readonly net: RadioNetwork;
  readonly networkId: number;
  readonly networkKey: Uint8Array | null;
  /** Every frame put on the air, as the stations' codecs built them (the RNode header byte taken off). */
  readonly frames: Uint8Array[];
  /** Every distinct sync message carried, whole or reassembled. */
  readonly messages: Uint8Array[];
}

/** A 32-byte value derived from a label: fixed identities and keys make the run reproducible. */
function seedBytes(label: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(label).digest());
}

function uuid(n: number): string {
  return `uuid:5eed0000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}

/** A few records per site: one site publishes a vocabulary first, one writes a record that needs fragments. */
function write(sites: readonly RadioSite[], random: () => number): void {
  const [s0, s1, s2] = sites as [RadioSite, RadioSite, RadioSite];
  s1.store.append({ kind: "vocabulary", type: recordType("household"), fields: [{ name: "village", choices: ["north", "south"] }, { name: "size" }, { name: "notes" }] });
  let n = 0;
  for (const s of sites) {
    for (let i = 0; i < 3; i++) s.upsert(uuid(n++), "household", { village: i % 2 ? "north" : "south", size: 1 + Math.floor(random() * 9), notes: `visit ${n}` });
  }
  const long = Array.from({ length: 1_500 }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join("");
  s2.upsert(uuid(n++), "household", { notes: long, size: 42 });
  s0.upsert(uuid(1), "household", { size: 12 });
  s1.remove(uuid(2), "household");
}

/** Runs the exchange until the sites converge (and an hour beyond, for beacons of the converged state). */
export async function captureExchange(options: { sealed: boolean; seed: number }): Promise<CapturedExchange> {
  const names = ["s0", "s1", "s2"];
  const networkKey = options.sealed ? seedBytes(`network-key/${options.seed}`) : null;
  const net = new RadioNetwork({
    names, seed: options.seed, networkName: NETWORK_NAME, topology: meshTopology(names, { loss: LOSS }), dutyFraction: 0.1,
    ...(networkKey ? { networkKey } : {}),
    signers: names.map((n) => signerFromSeed(seedBytes(`identity/${options.seed}/${n}`))),
  });
  const networkId = networkIdFromName(NETWORK_NAME);
  const random = seededRandom(options.seed);
  const air = listenToAir(net.medium, { clock: net.clock, networkId, networkKey });
  await net.start();
  write(net.sites, random);
  net.runFor(48 * HOUR, () => net.converged());
  if (!net.converged()) throw new Error(`the exchange (seed ${options.seed}) did not converge in 48 h`);
  net.runFor(HOUR);
  air.stop();
  for (const s of net.sites) await s.station.stop();
  return { net, networkId, networkKey, frames: air.frames, messages: air.messages };
}
