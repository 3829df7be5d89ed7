/**
 * The mapping as an admin writes it: config errors that name the key, the
 * bad value and the fix; mappings checked against the real form; and the
 * radio policy applied to what goes into the feed ("never" fields are not in
 * any event, "hash" fields only as a keyed hash).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createBridge } from "../src/bridge/bridge.js";
import { createKoboDouble, type KoboDouble } from "../src/bridge/doubles/kobo-double.js";
import { crossCheckMappings, MappingError, resolveMapping } from "../src/bridge/mapping.js";
import { ConfigError, parseBridgeConfig, type MappingConfig } from "../src/bridge/mapping-config.js";
import { openForms } from "../src/bridge/open-forms.js";
import { HASH_MARK } from "../src/bridge/record-translate.js";
import { encodeCanonical } from "../src/engine/cbor.js";
import { generateSigner } from "../src/engine/crypto.js";
import { openStore } from "../src/engine/store/sqlite-store.js";
import { householdAsset, TOKEN } from "./support/bridge-sites.js";
import { koboSchema } from "./support/household-forms.js";

const UID = "aHouseholdSurveyKoboM1";
let kobo: KoboDouble;
let url: string;

before(async () => {
  kobo = createKoboDouble({ token: TOKEN });
  url = await kobo.start(0);
  kobo.addAsset(householdAsset(UID));
});
after(async () => {
  await kobo.stop();
});

function mapping(extra: Partial<MappingConfig> & { fields?: Partial<MappingConfig["fields"]> } = {}): MappingConfig {
  const cfg = parseBridgeConfig({
    server: { kind: "kobo", url: "http://kf.kobo.local", token: "t" },
    mappings: [{ type: "household", source: { kobo: { asset: UID } }, ...extra }],
  });
  return cfg.mappings[0]!;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError || err instanceof MappingError) return [...err.problems];
    throw err;
  }
  return assert.fail("expected an error");
}

describe("config validation", () => {
  it("names the key, the bad value and what is allowed", () => {
    const problems = problemsOf(() =>
      parseBridgeConfig({
        server: { kind: "kobo", url: "not a url", token: "" },
        mappings: [{ type: "household", source: { kobo: { asset: UID } }, fields: { radio: { "hh/head_name": "secret" } }, priority: 12 }],
        polling: 5,
      }),
    );
    const text = problems.join("\n");
    assert.match(text, /server\.url: .*got "not a url"/);
    assert.match(text, /server\.token: .*got ""/);
    assert.match(text, /mappings\[0\]\.fields\.radio\.hh\/head_name: .*"send".*"hash".*"never".*got "secret"/);
    assert.match(text, /mappings\[0\]\.priority: .*got 12/);
    assert.match(text, /polling/, "an unknown key is named");
  });

  it("refuses a mapping list that is missing or empty", () => {
    assert.match(problemsOf(() => parseBridgeConfig({ server: { kind: "odk", url: "http://c", email: "e", password: "p" } })).join(), /mappings/);
  });
});

describe("mapping against the form", () => {
  const schema = koboSchema();

  it("replicates every field and whole repeats by default, under their own paths", () => {
    const m = resolveMapping(mapping(), "mappings[0]", schema);
    assert.ok(m.byShared.has("hh/size"));
    assert.equal(m.byShared.get("members")?.node.kind, "repeat");
    assert.equal(m.byLocal.get("notes")?.radio, "send");
  });

  it("suggests the nearest field for a typo, and explains repeats", () => {
    const problems = problemsOf(() =>
      resolveMapping(mapping({ fields: { include: ["hh/sise", "members/age"], exclude: [], rename: {}, radio: {} } }), "mappings[0]", schema),
    );
    assert.match(problems[0]!, /mappings\[0\]\.fields\.include: 'hh\/sise' is not a field of form 'aHouseholdSurveyKobo01'.*did you mean 'hh\/size'\?/);
    assert.match(problems[1]!, /'members\/age' is inside the repeat 'members'.*name 'members' instead/);
  });

  it("refuses two fields renamed to one name, and a mapping that leaves nothing", () => {
    assert.match(
      problemsOf(() => resolveMapping(mapping({ fields: { exclude: [], rename: { notes: "village" }, radio: {} } }), "mappings[0]", schema))[0]!,
      /'village' and 'notes' .* would both be called 'village'/,
    );
    const all = [...resolveMapping(mapping(), "m", schema).byLocal.keys()];
    assert.match(problemsOf(() => resolveMapping(mapping({ fields: { exclude: all, rename: {}, radio: {} } }), "mappings[0]", schema))[0]!, /no field .* is left/);
  });

  it("refuses a form mapped twice and a record type given two forms", () => {
    const a = mapping();
    const problems = crossCheckMappings([a, { ...a, type: "other" }, { ...a, source: { kobo: { asset: "aOther" } } }]);
    assert.match(problems[0]!, /mappings\[1\]\.source: the form kobo:aHouseholdSurveyKoboM1 is already mapped by mappings\[0\]/);
    assert.match(problems[1]!, /mappings\[2\]\.type: record type 'household' is already mapped/);
  });

  it("at start-up: an asset the server does not have, a form of the wrong server kind, a hash without a key", async () => {
    const cfg = (mappings: unknown[], extra: object = {}) => parseBridgeConfig({ server: { kind: "kobo", url, token: TOKEN }, mappings, ...extra });
    await assert.rejects(openForms(cfg([{ type: "h", source: { kobo: { asset: "aNoSuchAsset" } } }])), (err: MappingError) => {
      assert.match(err.problems[0]!, /mappings\[0\]\.source\.kobo\.asset: there is no asset 'aNoSuchAsset' on http:\/\/127\.0\.0\.1:\d+; run 'meshlogd forms'/);
      return true;
    });
    await assert.rejects(openForms(cfg([{ type: "h", source: { odk: { project: 1, form: "f" } } }])), /this site's server is KoboToolbox/);
    await assert.rejects(
      openForms(cfg([{ type: "h", source: { kobo: { asset: UID } }, fields: { radio: { "hh/head_name": "hash" } } }])),
      /hash_key: a mapping sends some field as a hash/,
    );
    await assert.rejects(
      openForms(cfg([{ type: "h", source: { kobo: { asset: UID } }, fields: { exclude: ["photo"] }, attachments: { policy: "transfer", max_bytes: 100000 } }])),
      /mappings\[0\]\.attachments\.policy: "transfer", but no file question .* of form 'aHouseholdSurveyKoboM1' .* is among the fields sent on air; include one .* or use policy "none"/,
    );
    assert.throws(() => cfg([{ type: "h", source: { kobo: { asset: UID } }, attachments: { policy: "transfer" } }]), (err: ConfigError) => {
      assert.match(err.problems[0]!, /mappings\[0\]\.attachments\.max_bytes: set max_bytes to the largest file/);
      return true;
    });
    assert.throws(() => cfg([{ type: "h", source: { kobo: { asset: UID } }, attachments: { policy: "all" } }]), /mappings\[0\]\.attachments\.policy: use \{ policy: "none" \}/);
    const opened = await openForms(cfg([{ type: "h", source: { kobo: { asset: UID } }, attachments: { policy: "metadata" } }]));
    assert.ok(opened.ok, "a file policy on a form with a photo question opens");
    if (opened.ok) for (const o of opened.value) await o.form.close();
  });

  it("an unreachable server is a value the caller retries, not a crash", async () => {
    const r = await openForms(parseBridgeConfig({
      server: { kind: "kobo", url: "http://127.0.0.1:9", token: TOKEN }, request_timeout_s: 2,
      mappings: [{ type: "h", source: { kobo: { asset: UID } } }],
    }));
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.kind, "unreachable");
  });
});

describe("radio policy", () => {
  it("never-send fields are in no event; hash fields only as a keyed hash", async () => {
    const store = openStore({ path: ":memory:", signer: generateSigner().signer, verifyPool: null });
    const config = parseBridgeConfig({
      server: { kind: "kobo", url, token: TOKEN },
      hash_key: "a-shared-secret-for-hashes",
      mappings: [{ type: "household", source: { kobo: { asset: UID } }, fields: { radio: { "hh/head_name": "never", notes: "hash" } } }],
    });
    const bridge = createBridge({ store, config });
    assert.ok((await bridge.open()).ok);
    kobo.submitLocal(UID, { village: "north", "hh/head_name": "Zawadi Mwangi", "hh/size": "6", notes: "HIV+ household" });
    await bridge.syncOnce();
    const [author] = store.frontier().keys();
    const all = store.readEvents(author!, 1, 10);
    const vocabulary = all.find((e) => e.body.kind === "vocabulary")?.body;
    assert.ok(vocabulary?.kind === "vocabulary");
    const listed = vocabulary.fields.map((f) => f.name);
    assert.ok(listed.includes("notes") && !listed.includes("hh/head_name"), `a never-send field's name stays off air too: ${listed.join(", ")}`);
    assert.deepEqual(vocabulary.fields.find((f) => f.name === "village")?.choices, ["north", "south", "east"]);
    const events = all.filter((e) => e.body.kind !== "vocabulary");
    assert.equal(events.length, 1);
    const body = events[0]!.body;
    assert.equal(body.kind, "upsert");
    if (body.kind !== "upsert") return;
    assert.equal("hh/head_name" in body.fields, false);
    const notes = body.fields.notes as Record<string, unknown>;
    assert.ok(notes[HASH_MARK] instanceof Uint8Array);
    const bytes = encodeCanonical([events[0]!.sig, body.fields]).toString("latin1");
    assert.equal(bytes.includes("Zawadi"), false);
    assert.equal(bytes.includes("HIV"), false);
    assert.equal(body.fields["hh/size"], 6);
    await bridge.stop();
    store.close();
  });
});
