/**
 * What one submission costs on the air: each row of a Kobo data page goes
 * through the bridge's translation (the asset's schema, a mapping that sends
 * every field, the vocabulary the site would publish), is signed as the next
 * event of a feed, packed as a wire item in a sync message, and framed for the
 * air (sealed, as we recommend in the field). The same answers as the seed
 * prototype's JSON events give the baseline.
 */
import { randomBytes } from "node:crypto";
import { koboSchemaFromAsset } from "../bridge/kobo-schema.js";
import { toIsoUtc } from "../bridge/kobo-form.js";
import { parseBridgeConfig } from "../bridge/mapping-config.js";
import { resolveMapping } from "../bridge/mapping.js";
import { changedFields, SUBMITTED_FIELD } from "../bridge/record-translate.js";
import { valuesFromKoboJson } from "../bridge/submission-values.js";
import { mappingVocabulary } from "../bridge/vocabulary-publish.js";
import { SchemaError } from "../bridge/form-schema.js";
import { SeedFeed, seedEventsMessage } from "../baseline/seed-encoding.js";
import { generateSigner, sha256 } from "../engine/crypto.js";
import { signEvent, type SignedEvent } from "../engine/event.js";
import { shortTag } from "../engine/frontier.js";
import { createHlcClock } from "../engine/hlc.js";
import type { CborMap } from "../engine/cbor.js";
import { recordId, recordType, type RecordId, type RecordType } from "../engine/ids.js";
import { encodeMessage } from "../engine/sync/messages.js";
import { createLexicon, type VocabularyField } from "../engine/vocabulary.js";
import { encodeWireItem } from "../engine/wire.js";
import { createAirCodec } from "../radio/air/codec.js";
import { RNODE_HEADER_BYTES, rnodeFrameAirtimeMs, type LoRaModulation } from "../radio/airtime.js";

export interface AirtimeReportOptions {
  /** A Kobo asset (`GET /api/v2/assets/{uid}/`): its content.survey and content.choices. */
  readonly asset: unknown;
  /** A Kobo data page (`GET …/data/`): its `results`. */
  readonly data: unknown;
  readonly modulation: LoRaModulation;
  /** Seal frames with a network key (default true). */
  readonly sealed?: boolean;
}

/** Per-submission figures; medians over the page's rows. */
export interface AirtimeReport {
  readonly submissions: number;
  readonly bytesOnAirMedian: number;
  readonly framesMedian: number;
  readonly airtimeMsMedian: number;
  readonly seedBytesMedian: number;
  /** Share of submissions that went out in one LoRa frame. */
  readonly oneFrameShare: number;
  /** Bytes of the vocabulary event, sent once per site and form (not per submission). */
  readonly vocabularyBytes: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? 0 : s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function rowsOf(data: unknown): Record<string, unknown>[] {
  const results = (data as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) throw new TypeError("the data file is not a Kobo data page: it has no \"results\" array");
  return results as Record<string, unknown>[];
}

/** A data page as the bridge would turn it into events: the vocabulary, then one new-record upsert per row, oldest first. */
export interface TranslatedPage {
  readonly type: RecordType;
  readonly vocabulary: readonly VocabularyField[];
  readonly submissions: readonly { readonly record: RecordId; readonly wall: number; readonly fields: CborMap }[];
}

/** Translates every row of a Kobo data page with a mapping that sends all of the asset's fields. */
export function translateDataPage(asset: unknown, data: unknown, typeName = "submission"): TranslatedPage {
  const schema = koboSchemaFromAsset(asset);
  if (schema instanceof SchemaError) throw schema;
  const config = parseBridgeConfig({
    server: { kind: "kobo", url: "http://127.0.0.1", token: "unused" },
    mappings: [{ type: typeName, source: { kobo: { asset: schema.formId } } }],
  });
  const mapping = resolveMapping(config.mappings[0]!, "mappings[0]", schema);
  const rows = rowsOf(data).sort((a, b) => String(a._submission_time).localeCompare(String(b._submission_time)));
  const submissions = rows.map((row) => {
    const fields = changedFields(mapping, undefined, valuesFromKoboJson(schema, row), null);
    const submitted = toIsoUtc(row._submission_time);
    if (submitted) fields[SUBMITTED_FIELD] = submitted;
    const record = recordId(String(row["meta/rootUuid"] ?? row["meta/instanceID"] ?? `uuid:${String(row._uuid)}`));
    return { record, wall: Date.parse(submitted ?? "") || 0, fields };
  });
  return { type: recordType(typeName), vocabulary: mappingVocabulary(mapping), submissions };
}

export function airtimeReport(o: AirtimeReportOptions): AirtimeReport {
  const page = translateDataPage(o.asset, o.data);
  const type = page.type;
  const { signer } = generateSigner();
  const codec = createAirCodec({
    networkId: 1, stationId: shortTag(signer.author), networkKey: o.sealed === false ? null : randomBytes(32),
    clock: { now: () => 0 }, random: Math.random,
  });
  const vocabulary = signEvent(signer, { seq: 1, prev: null, hlc: { wall: 0, counter: 0 } }, { kind: "vocabulary", type, fields: page.vocabulary });
  const lexicon = createLexicon(type, page.vocabulary);
  const seedFeed = new SeedFeed(sha256(signer.publicKey).subarray(0, 16).toString("hex"));
  const out = { bytes: [] as number[], frames: [] as number[], airtime: [] as number[], seed: [] as number[] };
  let prev: SignedEvent = vocabulary;
  for (const { record, wall: submittedAt, fields } of page.submissions) {
    const wall = Math.max(submittedAt, prev.hlc.wall + 1);
    const ev = signEvent(signer, { seq: prev.seq + 1, prev: prev.id, hlc: { wall, counter: 0 } }, {
      kind: "upsert", record, type, base: null, fields,
    });
    const item = encodeWireItem(ev, prev.hlc.wall, { seq: vocabulary.seq, lexicon });
    const frames = codec.encode(encodeMessage({ type: "events", short: shortTag(signer.author), start: ev.seq, items: [item] }));
    out.frames.push(frames.length);
    out.bytes.push(frames.reduce((n, f) => n + f.length + RNODE_HEADER_BYTES, 0));
    out.airtime.push(frames.reduce((n, f) => n + rnodeFrameAirtimeMs(f.length, o.modulation), 0));
    const clock = createHlcClock({ now: () => wall });
    out.seed.push(seedEventsMessage(seedFeed.submission(record, type, fields, () => clock.tick())).length);
    prev = ev;
  }
  const vocabularyItem = encodeWireItem(vocabulary, null);
  return {
    submissions: page.submissions.length,
    bytesOnAirMedian: median(out.bytes),
    framesMedian: median(out.frames),
    airtimeMsMedian: median(out.airtime),
    seedBytesMedian: median(out.seed),
    oneFrameShare: out.frames.filter((n) => n === 1).length / Math.max(1, page.submissions.length),
    vocabularyBytes: encodeMessage({ type: "events", short: shortTag(signer.author), start: 1, items: [vocabularyItem] }).length,
  };
}
