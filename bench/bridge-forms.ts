/**
 * The 40-field form of the bridge benchmarks, on both servers: a KoboToolbox
 * asset (content rows) and an ODK Central XForm with the same questions, and
 * answers like a field assessment's (text, numbers, choices, dates, a
 * geopoint), generated deterministically.
 */
import { seededRandom } from "../src/engine/random.js";

export const BENCH_FIELDS = 40;

/** Question types in rotation: what a household assessment mixes. */
const KINDS = ["text", "integer", "decimal", "select_one", "select_multiple", "date", "text", "integer", "geopoint", "text"] as const;
type Kind = (typeof KINDS)[number];

const CHOICES = ["water", "food", "shelter", "health", "education", "protection"];

function question(i: number): { name: string; kind: Kind } {
  return { name: `q${String(i + 1).padStart(2, "0")}`, kind: KINDS[i % KINDS.length]! };
}

export const QUESTIONS = Array.from({ length: BENCH_FIELDS }, (_, i) => question(i));

export function koboBenchAsset(uid: string): { uid: string; name: string; content: unknown; deploymentUuid: string; deployedVersionId: string } {
  const survey = QUESTIONS.map((q, i) => ({
    type: q.kind, name: q.name, $autoname: q.name, $kuid: `b${i}`, $xpath: q.name, label: [q.name],
    ...(q.kind.startsWith("select") ? { select_from_list_name: "needs" } : {}),
  }));
  const choices = CHOICES.map((c, i) => ({ list_name: "needs", name: c, $autovalue: c, $kuid: `c${i}`, label: [c] }));
  return {
    uid, name: "Bench assessment", content: { survey, choices, settings: {} },
    deploymentUuid: "5e1f0c3a9b8d4e7f8a6b5c4d3e2f1a0b", deployedVersionId: "vBenchAssessment000001",
  };
}

const XFORM_TYPE: Record<Kind, string> = {
  text: "string", integer: "int", decimal: "decimal", select_one: "string", select_multiple: "string", date: "date", geopoint: "geopoint",
};

export function odkBenchXForm(formId: string): string {
  const inst = QUESTIONS.map((q) => `<${q.name}/>`).join("");
  const binds = QUESTIONS.map((q) => `<bind nodeset="/data/${q.name}" type="${XFORM_TYPE[q.kind]}"/>`).join("");
  const items = CHOICES.map((c) => `<item><label>${c}</label><value>${c}</value></item>`).join("");
  const body = QUESTIONS.map((q) =>
    q.kind === "select_one" ? `<select1 ref="/data/${q.name}"><label>${q.name}</label>${items}</select1>`
    : q.kind === "select_multiple" ? `<select ref="/data/${q.name}"><label>${q.name}</label>${items}</select>`
    : `<input ref="/data/${q.name}"><label>${q.name}</label></input>`,
  ).join("");
  return `<?xml version="1.0"?><h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml" xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms"><h:head><h:title>Bench assessment</h:title><model><instance><data id="${formId}" version="1">${inst}<meta><instanceID/></meta></data></instance>${binds}<bind nodeset="/data/meta/instanceID" type="string" readonly="true()"/></model></h:head><h:body>${body}</h:body></h:html>`;
}

/** Answers of submission `n`, as XML text (Kobo's JSON strings). */
export function benchAnswers(n: number): Record<string, string> {
  const r = seededRandom(n + 1);
  const out: Record<string, string> = {};
  for (const q of QUESTIONS) {
    switch (q.kind) {
      case "text": out[q.name] = `answer ${n} ${Math.floor(r() * 1e6).toString(36)}`; break;
      case "integer": out[q.name] = String(Math.floor(r() * 120)); break;
      case "decimal": out[q.name] = (r() * 1000).toFixed(2); break;
      case "select_one": out[q.name] = CHOICES[Math.floor(r() * CHOICES.length)]!; break;
      case "select_multiple": out[q.name] = CHOICES.filter(() => r() < 0.4).join(" ") || "water"; break;
      case "date": out[q.name] = `2026-${String(1 + Math.floor(r() * 12)).padStart(2, "0")}-${String(1 + Math.floor(r() * 28)).padStart(2, "0")}`; break;
      case "geopoint": out[q.name] = `${(-4 + r() * 8).toFixed(6)} ${(30 + r() * 10).toFixed(6)} ${Math.floor(r() * 2000)} ${(1 + r() * 9).toFixed(1)}`; break;
    }
  }
  return out;
}
