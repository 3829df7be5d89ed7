/**
 * Publishes, in this site's feed, the vocabulary of each record type it maps
 * (engine/vocabulary.ts): the shared field names in form order and the choice
 * names of its select fields, so the radio sends this site's submissions with
 * indices instead of names. A new vocabulary is appended only when the mapping
 * or the form changed what it would say.
 */
import type { SignedEvent } from "../engine/event.js";
import type { RecordType } from "../engine/ids.js";
import type { SqliteStore } from "../engine/store/sqlite-store.js";
import type { VocabularyField } from "../engine/vocabulary.js";
import type { ResolvedMapping } from "./mapping.js";
import { SUBMITTED_FIELD } from "./record-translate.js";

/** The vocabulary a mapping implies: the capture time, then every unit that goes on air, with its choices when plain. */
export function mappingVocabulary(mapping: ResolvedMapping): VocabularyField[] {
  const out: VocabularyField[] = [{ name: SUBMITTED_FIELD }];
  for (const u of mapping.units) {
    if (u.radio === "never") continue; // its name need not be on air either
    const choices = u.radio === "send" && u.node.kind === "field" ? u.node.choices : undefined;
    out.push(choices && choices.length > 0 ? { name: u.shared, choices: [...choices] } : { name: u.shared });
  }
  return out;
}

/** Two mappings of one record type at a site: one vocabulary listing the fields of both, first come first. */
function merge(a: VocabularyField[], b: readonly VocabularyField[]): VocabularyField[] {
  const names = new Set(a.map((f) => f.name));
  return [...a, ...b.filter((f) => !names.has(f.name))];
}

function sameFields(a: readonly VocabularyField[], b: readonly VocabularyField[]): boolean {
  return a.length === b.length && a.every((f, i) => f.name === b[i]?.name && (f.choices ?? []).join("\n") === (b[i]?.choices ?? []).join("\n"));
}

/** Appends a vocabulary event for each mapped record type whose vocabulary is new or changed; returns the events appended. */
export function publishVocabularies(store: SqliteStore, mappings: readonly ResolvedMapping[]): SignedEvent[] {
  const me = store.localAuthor();
  const byType = new Map<RecordType, VocabularyField[]>();
  for (const m of mappings) byType.set(m.type, merge(byType.get(m.type) ?? [], mappingVocabulary(m)));
  const appended: SignedEvent[] = [];
  for (const [type, fields] of byType) {
    const current = store.latestVocabulary(me, type);
    if (current && sameFields(current, fields)) continue;
    appended.push(store.append({ kind: "vocabulary", type, fields }));
  }
  return appended;
}
