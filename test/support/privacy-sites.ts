/**
 * Sites with KoboToolbox on the simulated LoRa air, for privacy tests: a
 * line A – R – B, where A and B each run a Kobo double and a bridge into
 * their store and R only relays. The form is the household survey plus a
 * phone number, a national id, a private note and a remark; A's mapping keeps
 * some fields at home (`radio: never`) and hashes one; B's sends everything,
 * so only A's policy stands between A's answers and the air.
 */
import { createHash } from "node:crypto";
import { createBridge, type Bridge } from "../../src/bridge/bridge.js";
import { createKoboDouble, type KoboAssetDef, type KoboDouble } from "../../src/bridge/doubles/kobo-double.js";
import type { FormSchema } from "../../src/bridge/form-schema.js";
import { koboSchemaFromAsset } from "../../src/bridge/kobo-schema.js";
import { parseBridgeConfig, type RadioPolicy } from "../../src/bridge/mapping-config.js";
import { RadioNetwork, type RadioSite } from "../../src/demo/radio-network.js";
import { signerFromSeed } from "../../src/engine/crypto.js";
import { networkIdFromName } from "../../src/radio/air/network-key.js";
import { lineTopology } from "../../src/radio/lora-topology.js";
import { listenToAir, type AirListeners } from "./air-insider.js";
import { householdAsset, TOKEN } from "./bridge-sites.js";
import { schemaOrFail } from "./household-forms.js";

const HOUR = 3_600_000;
const NETWORK_NAME = "privacy-test";

/** Secret every site shares for "hash" fields. */
export const HASH_KEY = "a-shared-secret-for-hashes";

/** A's radio policies: a name, a phone number, a GPS point, a repeat of people and a note stay home; the national id goes as a hash. */
export const A_POLICIES: Readonly<Record<string, RadioPolicy>> = {
  "hh/head_name": "never", phone: "never", location: "never", members: "never", private_note: "never", national_id: "hash",
};

const textRow = (name: string, label: string): Record<string, unknown> => ({
  type: "text", name, $autoname: name, $kuid: `k-${name}`, $xpath: name, label: [label], required: false,
});

/** The household asset with four more text questions, before its version calculation. */
export function contactAsset(uid: string): KoboAssetDef {
  const base = householdAsset(uid);
  const content = base.content as { survey: Record<string, unknown>[] };
  const extra = [textRow("phone", "Phone number"), textRow("national_id", "National id"), textRow("private_note", "Private note"), textRow("remark", "Remark")];
  const survey = [...content.survey.slice(0, -1), ...extra, ...content.survey.slice(-1)];
  return { ...base, content: { ...content, survey } };
}

export function contactSchema(asset: KoboAssetDef): FormSchema {
  return schemaOrFail(koboSchemaFromAsset({
    uid: asset.uid, name: asset.name, content: asset.content, deployment__uuid: asset.deploymentUuid,
    deployed_version_id: asset.deployedVersionId, has_deployment: true, deployment__active: true, asset_type: "survey",
  }));
}

export interface KoboSite {
  readonly radio: RadioSite;
  readonly kobo: KoboDouble;
  readonly asset: KoboAssetDef;
  readonly bridge: Bridge;
}

export interface PrivacyWorld {
  readonly net: RadioNetwork;
  /** The id in every frame's clear header. */
  readonly networkId: number;
  readonly networkKey: Uint8Array | null;
  readonly air: AirListeners;
  readonly a: KoboSite;
  readonly b: KoboSite;
  close(): Promise<void>;
}

async function koboSite(radio: RadioSite, uid: string, policies: Readonly<Record<string, RadioPolicy>>, now: () => number): Promise<KoboSite> {
  const kobo = createKoboDouble({ token: TOKEN });
  const url = await kobo.start(0);
  const asset = contactAsset(uid);
  kobo.addAsset(asset);
  const config = parseBridgeConfig({
    server: { kind: "kobo", url, token: TOKEN },
    mappings: [{ type: "household", source: { kobo: { asset: uid } }, fields: { exclude: ["photo"], rename: {}, radio: policies } }],
    poll_interval_s: 60, request_timeout_s: 5, hash_key: HASH_KEY,
  });
  const bridge = createBridge({ store: radio.store, config, now });
  const opened = await bridge.open();
  if (!opened.ok) throw new Error(`site ${radio.name}: ${JSON.stringify(opened.error)}`);
  return { radio, kobo, asset, bridge };
}

const seedBytes = (label: string): Uint8Array => new Uint8Array(createHash("sha256").update(label).digest());

export async function makePrivacyWorld(o: { sealed: boolean; seed: number }): Promise<PrivacyWorld> {
  const names = ["A", "R", "B"];
  const networkKey = o.sealed ? seedBytes(`privacy-key/${o.seed}`) : null;
  const net = new RadioNetwork({
    names, seed: o.seed, networkName: NETWORK_NAME, topology: lineTopology(names), ...(networkKey ? { networkKey } : {}),
    signers: names.map((n) => signerFromSeed(seedBytes(`privacy-identity/${o.seed}/${n}`))),
  });
  const networkId = networkIdFromName(NETWORK_NAME);
  const air = listenToAir(net.medium, { clock: net.clock, networkId, networkKey });
  const now = () => net.scheduler.now();
  const a = await koboSite(net.site("A"), "aContactSurveyKoboA001", A_POLICIES, now);
  const b = await koboSite(net.site("B"), "aContactSurveyKoboB001", {}, now);
  await net.start();
  return {
    net, networkId, networkKey, air, a, b,
    async close() {
      air.stop();
      for (const s of [a, b]) {
        await s.bridge.stop();
        await s.kobo.stop();
      }
      await net.close();
    },
  };
}

function fingerprint(w: PrivacyWorld): string {
  return [w.a, w.b].map((s) => {
    const o = s.bridge.status().outbox;
    return `${s.radio.store.digest().toString("hex")}/${o.pending}/${o.failed}/${s.kobo.submissions(s.asset.uid).length}`;
  }).join("|");
}

/** Bridge rounds and radio time, alternately, until a round changes nothing; throws if that takes over `maxRounds`. */
export async function settle(w: PrivacyWorld, maxRounds = 10): Promise<number> {
  let last = "";
  for (let round = 1; round <= maxRounds; round++) {
    for (const s of [w.a, w.b]) {
      await s.bridge.syncOnce();
      s.radio.announce();
    }
    w.net.runFor(24 * HOUR, () => w.net.converged());
    const fp = fingerprint(w);
    if (fp === last && w.net.converged()) return round;
    last = fp;
  }
  throw new Error(`the sites did not settle in ${maxRounds} rounds: ${fingerprint(w)}`);
}
