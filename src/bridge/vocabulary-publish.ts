/**
 * Publishes, in this site's feed, the vocabulary of each record type it maps
 * (engine/vocabulary.ts): the shared field names in form order, the format of
 * each field's answers (from the form's types, so the radio packs them as
 * numbers, days and instants rather than text), the choice names of its
 * select fields and the fields of its repeats. A new vocabulary is appended
 * only when the mapping or the form changed what it would say.
 */
import { encodeCanonical } from "../engine/cbor.js";
import type { SignedEvent } from "../engine/event.js";
import type { RecordType } from "../engine/ids.js";
import type { SqliteStore } from "../engine/store/sqlite-store.js";
import { vocabularyToCbor, type FieldFormat, type VocabularyField } from "../engine/vocabulary.js";
import type { FieldNode, FieldType, SchemaNode } from "./form-schema.js";
import type { ResolvedMapping } from "./mapping.js";
import { SUBMITTED_FIELD } from "./record-translate.js";

/** The format of each answer type's canonical values (field-codec.ts); selects without listed choices are text or lists. */
const FORMAT_OF_TYPE: Readonly<Record<FieldType, FieldFormat>> = {
  string: "text", int: "int", decimal: "decimal", boolean: "boolean", date: "date", dateTime: "datetime", time: "text",
  select_one: "select_one", select_multiple: "select_multiple", geopoint: "geopoint", geotrace: "geotrace", geoshape: "geotrace",
  binary: "text",
};

/** A field of the vocabulary, named `name`, for a form field whose answers go on air as they are. */
function formattedField(name: string, node: FieldNode): VocabularyField {
  const format = FORMAT_OF_TYPE[node.type];
  const choices = node.choices && node.choices.length > 0 ? [...node.choices] : undefined;
  if (format === "select_one") return choices ? { name, format, choices } : { name, format: "text" };
  if (format === "select_multiple") return choices ? { name, format, choices } : { name }; // a list of words: sent as it is
  return { name, format };
}

/** The fields of a repeat's instances, keyed as submission-values.ts keys them: paths relative to the repeat. */
function instanceFields(nodes: readonly SchemaNode[], prefix = ""): VocabularyField[] {
  return nodes.flatMap((n): VocabularyField[] => {
    const name = prefix + n.name;
    if (n.kind === "field") return [formattedField(name, n)];
    if (n.kind === "group") return instanceFields(n.children, `${name}/`);
    return [{ name, format: "repeat", fields: instanceFields(n.children) }];
  });
}

/** The vocabulary a mapping implies: the capture time, then every unit that goes on air, typed when sent as it is. */
export function mappingVocabulary(mapping: ResolvedMapping): VocabularyField[] {
  const out: VocabularyField[] = [{ name: SUBMITTED_FIELD, format: "datetime" }];
  for (const u of mapping.units) {
    if (u.radio === "never") continue; // its name need not be on air either
    if (u.radio !== "send") out.push({ name: u.shared }); // a keyed hash fits no format
    else if (u.node.kind === "field") out.push(formattedField(u.shared, u.node));
    else out.push({ name: u.shared, format: "repeat", fields: instanceFields(u.node.children) });
  }
  return out;
}

/** Two mappings of one record type at a site: one vocabulary listing the fields of both, first come first. */
function merge(a: VocabularyField[], b: readonly VocabularyField[]): VocabularyField[] {
  const names = new Set(a.map((f) => f.name));
  return [...a, ...b.filter((f) => !names.has(f.name))];
}

function sameFields(type: RecordType, a: readonly VocabularyField[], b: readonly VocabularyField[]): boolean {
  return encodeCanonical(vocabularyToCbor(type, a)).equals(encodeCanonical(vocabularyToCbor(type, b)));
}

/** Appends a vocabulary event for each mapped record type whose vocabulary is new or changed; returns the events appended. */
export function publishVocabularies(store: SqliteStore, mappings: readonly ResolvedMapping[]): SignedEvent[] {
  const me = store.localAuthor();
  const byType = new Map<RecordType, VocabularyField[]>();
  for (const m of mappings) byType.set(m.type, merge(byType.get(m.type) ?? [], mappingVocabulary(m)));
  const appended: SignedEvent[] = [];
  for (const [type, fields] of byType) {
    const current = store.latestVocabulary(me, type);
    if (current && sameFields(type, current, fields)) continue;
    appended.push(store.append({ kind: "vocabulary", type, fields }));
  }
  return appended;
}
