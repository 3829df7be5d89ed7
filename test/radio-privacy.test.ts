/**
 * What the radio policy keeps home stays home, checked on what is on air.
 * Site A's bridge polls its KoboToolbox into its store; the record crosses
 * the simulated LoRa air through a relay R to site B, whose bridge writes it
 * into B's KoboToolbox. A maps a name, a phone number, a GPS point, a repeat
 * of people and a note as `radio: never` and a national id as `hash`. An
 * eavesdropper keeps every packet. Since answers travel packed (5-bit
 * letters, bit-packed numbers), a search of raw bytes cannot see most of
 * them: so the capture is also DECODED, as a real listener could, by a
 * passive station (air codec, sync node, store) fed with it — an outsider
 * without the network key and an insider with it. Neither in the packets nor
 * in anything the insider decodes, nor anywhere at R or B, may a never value
 * appear in any encoding (not even hashed), nor the national id in clear.
 * Unsealed, the outsider recovers the values A sends (the search finds what
 * is there); sealed, it recovers nothing and the capture holds no value, hash
 * or record id, though the insider recovers them all.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { KoboSubmissionJson } from "../src/bridge/doubles/kobo-double.js";
import { HASH_MARK, hashValue } from "../src/bridge/record-translate.js";
import { valuesFromKoboJson } from "../src/bridge/submission-values.js";
import type { CborValue } from "../src/engine/cbor.js";
import { seededRandom } from "../src/engine/random.js";
import { findNeedles, recordIdBytes, recordIdNeedle, valueNeedles, type Needle } from "./support/leak-search.js";
import { listenToCapture, type PassiveListener } from "./support/listener.js";
import { A_POLICIES, contactSchema, HASH_KEY, makePrivacyWorld, settle, type PrivacyWorld } from "./support/privacy-sites.js";

const SEED = 4_711;
/** Fields of A's form that go on air as they are, with values distinctive enough to search for. */
const SEND_FIELDS = ["notes", "remark", "hh/size", "hh/income"];
const NEVER_FIELDS = Object.entries(A_POLICIES).filter(([, p]) => p === "never").map(([path]) => path);

function answersSource(seed: number) {
  const rng = seededRandom(seed);
  const int = (n: number): number => Math.floor(rng() * n);
  const letters = (n: number): string => Array.from({ length: n }, () => "abcdefghijklmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"[int(50)]).join("");
  const digits = (n: number): string => Array.from({ length: n }, () => String(int(10))).join("");
  const coordinate = (whole: number): string => `${whole}.${digits(6)}${1 + int(9)}`;
  return {
    record: (): Record<string, unknown> => ({
      village: "north", visit_date: "2026-11-20", needs: "water food",
      "hh/head_name": `Wanjiru ${letters(12)}`, phone: `+2547${digits(8)}`,
      location: `-${coordinate(1)} ${coordinate(36)} ${coordinate(1650)} ${coordinate(3)}`,
      members: [{ "members/name": `Akinyi ${letters(10)}`, "members/age": "34", "members/sex": "f" }, { "members/name": `Otieno ${letters(10)}`, "members/age": "7", "members/sex": "m" }],
      private_note: letters(300), national_id: `NID-${digits(10)}`,
      notes: letters(600), remark: letters(16), "hh/size": String(1_000_000 + int(8_000_000)), "hh/income": `${10_000 + int(80_000)}.${1 + int(9)}${1 + int(9)}`,
    }),
    edit: (): Record<string, unknown> => ({ phone: `+2547${digits(8)}`, private_note: letters(300), notes: letters(600), remark: letters(16) }),
    letters,
  };
}

interface Version {
  readonly record: string;
  readonly values: Map<string, CborValue>;
}

/** The needles of one kind of field across every version A's server held. */
function needlesOf(versions: readonly Version[], paths: readonly string[]): Needle[] {
  return versions.flatMap((v) => paths.flatMap((p) => {
    const value = v.values.get(p);
    return value === undefined ? [] : valueNeedles(`${v.record.slice(-6)} ${p}`, value);
  }));
}

/** The keyed hashes of fields, as a "hash" policy would put them on air. */
function hashNeedles(versions: readonly Version[], paths: readonly string[]): Needle[] {
  const key = Buffer.from(HASH_KEY, "utf8");
  return versions.flatMap((v) => paths.flatMap((p) => {
    const value = v.values.get(p);
    const h = value === undefined ? undefined : hashValue(key, p, value)[HASH_MARK];
    return h instanceof Uint8Array ? [{ label: `${v.record.slice(-6)} ${p} hashed`, forms: [h] }] : [];
  }));
}

const labels = (found: { label: string; at: number }[]): string[] => found.map((x) => `${x.label} (#${x.at})`);

/** The labels of `needles` not found in `haystacks`. */
function missing(haystacks: readonly Uint8Array[], needles: readonly Needle[]): string[] {
  const found = new Set(findNeedles(haystacks, needles).map((x) => x.label));
  return needles.map((n) => n.label).filter((l) => !found.has(l));
}

for (const sealed of [false, true]) {
  describe(`radio policy on the air, ${sealed ? "sealed" : "unsealed"}`, () => {
    let w: PrivacyWorld;
    const versions: Version[] = [];
    let fromB = "";
    /** Decoders of the capture: the outsider holds no key, the insider the network's (none when unsealed). */
    let outsider: PassiveListener;
    let insider: PassiveListener;
    const packets = (): Uint8Array[] => w.air.packets.map((p) => p.bytes);
    const records = (): string[] => [...new Set([...versions.map((v) => v.record), fromB])];
    const recordIds = (): Needle[] => records().map(recordIdNeedle);
    const sent = (): Needle[] => [...needlesOf(versions, SEND_FIELDS), ...hashNeedles(versions, ["national_id"])];
    /** What the insider decoded, once it is known to hold every event the sites exchanged (else a search of it proves nothing). */
    const insiderDecoded = (): Uint8Array[] => {
      assert.equal(insider.store.digest().toString("hex"), w.net.site("B").store.digest().toString("hex"), "the insider decoded every event");
      return insider.decoded();
    };

    before(async () => {
      w = await makePrivacyWorld({ sealed, seed: SEED });
      const schema = contactSchema(w.a.asset);
      const keep = (row: KoboSubmissionJson): void => void versions.push({ record: String(row["meta/rootUuid"]), values: valuesFromKoboJson(schema, row) });
      const answers = answersSource(SEED);
      const uid = w.a.asset.uid;
      const rows = [0, 1, 2].map(() => w.a.kobo.submitLocal(uid, answers.record()));
      rows.forEach(keep);
      fromB = String(w.b.kobo.submitLocal(w.b.asset.uid, { village: "south", "hh/head_name": "Baraka", remark: answers.letters(16) })["meta/rootUuid"]);
      await settle(w);
      keep(w.a.kobo.editLocal(uid, rows[0]!._id as number, answers.edit()));
      await settle(w);
      const network = { networkId: w.networkId, members: w.net.sites.map((s) => s.signer.author) };
      outsider = listenToCapture(w.air.packets, { ...network, networkKey: null });
      insider = listenToCapture(w.air.packets, { ...network, networkKey: w.networkKey });
    });
    after(async () => {
      outsider?.close();
      insider?.close();
      await w.close();
    });

    it("lets the insider decode from the capture every event the sites exchanged (so its searches below see everything)", () => {
      assert.equal(insider.codec.stats.framesReceived, w.air.packets.length);
      assert.equal(insider.codec.stats.framesDecoded, w.air.packets.length, "every frame opened");
      assert.deepEqual(insider.node.stats.dropped, {});
      assert.equal(insider.store.digest().toString("hex"), w.net.site("B").store.digest().toString("hex"), "the same events as B");
      assert.ok(insider.store.viewBytes().equals(w.net.site("B").store.viewBytes()), "the same records as B");
      assert.equal(insider.store.recordCount(), 4);
      assert.equal(insider.store.gapBufferSize(), 0);
    });

    it("puts none of A's never values on air, in any encoding, not even hashed", () => {
      for (const v of versions) for (const p of NEVER_FIELDS) assert.notEqual(v.values.get(p), undefined, `${p} answered in every version`);
      const never = [...needlesOf(versions, NEVER_FIELDS), ...hashNeedles(versions, NEVER_FIELDS)];
      assert.deepEqual(labels(findNeedles(packets(), never)), [], "in the packets an eavesdropper captured");
      assert.deepEqual(labels(findNeedles(insider.messages, never)), [], "in the messages the insider reassembled");
      assert.deepEqual(labels(findNeedles(insiderDecoded(), never)), [], "in the events and records the insider decoded");
    });

    it("never puts the hashed national id on air in clear", () => {
      const clear = needlesOf(versions, ["national_id"]);
      assert.deepEqual(labels(findNeedles([...packets(), ...insider.messages, ...insiderDecoded()], clear)), []);
    });

    it("leaves no never value at the relay or at B: stores, B's server", () => {
      const never = [...needlesOf(versions, [...NEVER_FIELDS, "national_id"]), ...hashNeedles(versions, NEVER_FIELDS)];
      const rows = w.b.kobo.submissions(w.b.asset.uid);
      const places = [
        w.net.site("R").store.db.serialize(), w.net.site("B").store.db.serialize(), Buffer.from(JSON.stringify(rows)),
        ...rows.map((r) => Buffer.from(w.b.kobo.submissionXml(w.b.asset.uid, r._id as number))),
      ];
      assert.deepEqual(labels(findNeedles(places, never)), []);
      // ...though the records did arrive, with what A sends.
      const latest = versions.slice(-1)[0]!;
      const atB = rows.find((r) => r["meta/rootUuid"] === latest.record);
      assert.equal(atB?.remark, latest.values.get("remark"));
      assert.equal(atB?.phone, undefined);
      assert.equal(rows.length, 4);
    });

    if (!sealed) {
      it("lets an outsider decode A's sent values, the id's hash and the record ids from the capture (the search finds what is there)", () => {
        assert.equal(outsider.codec.stats.dropped["no-key"], 0);
        assert.deepEqual(missing(outsider.decoded(), [...sent(), ...recordIds()]), []);
      });

      it("carries the id's hash and the record ids' 16 bytes as they are in the packets (what still travels unpacked)", () => {
        const raw = records().map((id) => ({ label: `record ${id} (16 bytes)`, forms: [recordIdBytes(id)] }));
        assert.deepEqual(missing(packets(), [...hashNeedles(versions, ["national_id"]), ...raw]), []);
      });
    } else {
      it("gives an outsider without the key nothing: no message, no event, no record", () => {
        assert.equal(outsider.codec.stats.dropped["no-key"], w.air.packets.length, "every frame dropped for lack of the key");
        assert.equal(outsider.codec.stats.framesDecoded, 0);
        assert.equal(outsider.messages.length, 0);
        assert.equal(outsider.store.eventCount(), 0);
        assert.equal(outsider.store.recordCount(), 0);
        assert.deepEqual(labels(findNeedles(outsider.decoded(), [...sent(), ...recordIds()])), []);
      });

      it("puts none of the sent values, hashes or record ids in the capture's bytes", () => {
        assert.deepEqual(labels(findNeedles(packets(), [...sent(), ...recordIds()])), []);
      });

      it("lets the insider with the key decode all of A's sent values, the id's hash and the record ids", () => {
        assert.deepEqual(missing(insiderDecoded(), [...sent(), ...recordIds()]), []);
      });
    }
  });
}
