/**
 * The embedded default's form: a short household assessment as KoboToolbox
 * stores it (kpi asset content: survey rows with $xpath, a choices sheet),
 * and field teams' answers to it, drawn from a seeded random source.
 */
import type { KoboAssetDef } from "../bridge/doubles/kobo-double.js";

const VILLAGES = ["Bulabulin", "Gwange", "Dala", "Shehuri", "Mairi", "Bolori"] as const;
const NEEDS = ["water", "food", "shelter", "health", "education", "protection"] as const;
const NAMES = ["Amina", "Baraka", "Hauwa", "Musa", "Falmata", "Ibrahim", "Zara", "Abba", "Kaltum", "Modu", "Yagana", "Bukar"] as const;
/** Around Maiduguri, where the fixture data is set. */
const CENTRE = { lat: 11.8333, lon: 13.15 } as const;

type Row = Record<string, unknown>;

function question(type: string, xpath: string, label: string, extra: Row = {}): Row {
  const name = xpath.split("/").pop() as string;
  return { type, name, $autoname: name, $xpath: xpath, label: [label], required: false, ...extra };
}

function choices(list: string, names: readonly string[]): Row[] {
  return names.map((n) => ({ list_name: list, name: n.toLowerCase(), $autovalue: n.toLowerCase(), label: [n] }));
}

/** The asset as kpi would hold it, under `uid` (each demo site's own copy of the form). */
export function demoAsset(uid: string): KoboAssetDef {
  const version = "vDemoHousehold1aaaaaaa";
  return {
    uid,
    name: "Household assessment (demo)",
    deploymentUuid: `d3m0${uid.toLowerCase().replace(/[^a-z0-9]/g, "").padEnd(28, "0").slice(0, 28)}`,
    deployedVersionId: version,
    content: {
      schema: "1",
      survey: [
        { type: "start", name: "start", $autoname: "start", $xpath: "start" },
        { type: "end", name: "end", $autoname: "end", $xpath: "end" },
        question("select_one", "village", "Village", { select_from_list_name: "villages" }),
        { type: "begin_group", name: "hh", $autoname: "hh", $xpath: "hh", label: ["Household"] },
        question("text", "hh/head_name", "Name of the head of household"),
        question("integer", "hh/size", "Household size"),
        { type: "end_group" },
        question("select_multiple", "needs", "Most urgent needs", { select_from_list_name: "needs" }),
        question("geopoint", "location", "Location"),
        question("text", "notes", "Notes"),
        { type: "calculate", name: "__version__", $autoname: "__version__", calculation: `'${version}'`, $xpath: "__version__" },
      ],
      choices: [...choices("villages", VILLAGES), ...choices("needs", NEEDS)],
      settings: {},
      translated: ["label"],
      translations: [null],
    },
  };
}

const pick = <T>(random: () => number, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;

/** One household's answers, keyed by $xpath as the Kobo double takes them. */
export function drawAnswers(random: () => number, team: string): Record<string, unknown> {
  const needs = NEEDS.filter(() => random() < 0.35);
  const lat = CENTRE.lat + (random() - 0.5) * 0.1;
  const lon = CENTRE.lon + (random() - 0.5) * 0.1;
  return {
    village: pick(random, VILLAGES).toLowerCase(),
    "hh/head_name": pick(random, NAMES),
    "hh/size": String(1 + Math.floor(random() * 9)),
    needs: (needs.length > 0 ? needs : [pick(random, NEEDS)]).join(" "),
    location: `${lat.toFixed(6)} ${lon.toFixed(6)} ${(300 + random() * 40).toFixed(1)} ${(3 + random() * 10).toFixed(1)}`,
    notes: `visited by ${team}`,
  };
}
