/**
 * One household's answers to the assessment of
 * test/fixtures/household-assessment-asset.json, drawn to look like field
 * data from north-east Nigeria: Kanuri, Hausa and (in Adamawa) Christian
 * names, displacement and shelter that go together, food consumption that
 * worsens with vulnerability. Values are the strings kpi returns; a question
 * skipped by its `relevant` (or left empty) has no key.
 */

/** Drawing from one seeded source; see createDraw in make-household-data.ts. */
export interface Draw {
  readonly random: () => number;
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** A key of `table`, with probability proportional to its weight. */
  weighted(table: Readonly<Record<string, number>>): string;
}

/** What the answers depend on besides chance: the day, and the asset's cascading location lists. */
export interface HouseholdContext {
  /** The interview's local day, "YYYY-MM-DD": the form's visit_date default. */
  readonly localDay: string;
  readonly lgasByState: ReadonlyMap<string, readonly string[]>;
  readonly villagesByLga: ReadonlyMap<string, readonly string[]>;
}

/** One drawn household. */
export interface Household {
  /** Answers under their full paths ("hh/size"), the repeat "members" as an array of path-keyed rows. */
  readonly answers: Record<string, string | Record<string, string>[]>;
  /** The Kobo account that submitted it (each LGA has two enumerators). */
  readonly enumerator: string;
}

type Answers = Household["answers"];

const FEMALE = ["Aisha", "Fatima", "Hauwa", "Zainab", "Amina", "Hadiza", "Maryam", "Falmata", "Bintu", "Yagana", "Kaltum", "Hajara", "Halima", "Aishatu", "Gambo", "Fanna", "Khadija", "Salamatu", "Ladi", "Asabe"];
const MALE = ["Mohammed", "Ibrahim", "Abubakar", "Umar", "Musa", "Usman", "Bukar", "Modu", "Ali", "Babagana", "Goni", "Kyari", "Lawan", "Mustapha", "Abba", "Yusuf", "Adamu", "Haruna", "Idris", "Bulama"];
const FEMALE_CHRISTIAN = ["Esther", "Mary", "Rebecca", "Grace", "Ruth", "Naomi", "Sarah", "Hannah", "Rhoda", "Comfort"];
const MALE_CHRISTIAN = ["John", "Daniel", "Samuel", "Peter", "James", "Joseph", "Emmanuel", "Yohanna", "Bitrus", "Ishaku"];

const REMARKS = [
  "Household hosts two displaced families in the same compound.",
  "Head of household away at the farm; spouse answered.",
  "Shelter roof collapsed in the last rains.",
  "Respondent asked when the next food distribution will be.",
  "Interview stopped for prayer and resumed.",
  "Child with a disability in the household, referred to partner.",
  "Respondent was hesitant at first, then agreed.",
  "Respondent could not say the ages of all members.",
  "GPS taken at the camp block entrance.",
  "Pregnant woman in the household has not seen a midwife.",
];

/** Approximate LGA headquarters (lat, lon); villages sit around them. */
const LGA_CENTRES: Readonly<Record<string, readonly [number, number]>> = {
  maiduguri: [11.8464, 13.1571], jere: [11.8793, 13.2936], konduga: [11.6503, 13.4192], bama: [11.5214, 13.6856],
  gwoza: [11.0853, 13.6914], monguno: [12.6716, 13.6115], yola_north: [9.2286, 12.4653], mubi_north: [10.2686, 13.2669],
  michika: [10.6214, 13.3914], damaturu: [11.7470, 11.9608], potiskum: [11.7128, 11.0780], geidam: [12.8944, 11.9265],
};

const STATE_WEIGHTS = { borno: 60, adamawa: 25, yobe: 15 };
const DISPLACEMENT: Readonly<Record<string, Record<string, number>>> = {
  borno: { host: 30, idp_camp: 35, idp_host: 20, returnee: 15 },
  adamawa: { host: 55, idp_camp: 10, idp_host: 20, returnee: 15 },
  yobe: { host: 50, idp_camp: 15, idp_host: 25, returnee: 10 },
};
const SHELTER: Readonly<Record<string, Record<string, number>>> = {
  host: { solid: 60, semi: 35, makeshift: 5 },
  idp_camp: { tent: 20, makeshift: 50, collective: 20, semi: 10 },
  idp_host: { solid: 30, semi: 35, makeshift: 25, collective: 10 },
  returnee: { solid: 30, semi: 40, makeshift: 25, none: 5 },
};
const WATER: Readonly<Record<string, Record<string, number>>> = {
  camp: { public_tap: 35, borehole: 40, water_truck: 20, vendor: 5 },
  other: { piped: 5, public_tap: 10, borehole: 35, protected_well: 20, unprotected_well: 15, surface_water: 5, vendor: 10 },
};
const PHONE_PREFIXES = ["0803", "0806", "0813", "0816", "0703", "0706", "0810", "0814", "0903", "0906", "0802", "0808", "0812", "0902", "0805", "0807", "0815", "0905"];
const COPING = ["less_preferred", "borrow_food", "limit_portions", "restrict_adults", "reduce_meals"];
const NEEDS = { food: 30, water: 12, shelter: 15, health: 12, education: 6, livelihoods: 8, cash: 10, protection: 2, nfi: 5, sanitation: 3 };
const ILLNESS = { fever: 40, diarrhoea: 25, cough: 20, skin: 7, malnutrition: 5, other: 3 };

/** `n` distinct keys of `table` by weight, in the choice list's order (as Collect writes a select_multiple). */
function pickSome(d: Draw, table: Readonly<Record<string, number>>, n: number): string {
  const chosen = new Set<string>();
  while (chosen.size < n) chosen.add(d.weighted(table));
  return Object.keys(table).filter((k) => chosen.has(k)).join(" ");
}

function drawLocation(d: Draw, ctx: HouseholdContext, a: Answers): { state: string; lga: string; lgaIndex: number } {
  const state = d.weighted(STATE_WEIGHTS);
  const lga = d.pick(ctx.lgasByState.get(state) ?? []);
  const villages = ctx.villagesByLga.get(lga) ?? [];
  const v = d.int(0, villages.length - 1);
  const [lat, lon] = LGA_CENTRES[lga] ?? [0, 0];
  a["loc/admin1"] = state;
  a["loc/admin2"] = lga;
  a["loc/village"] = villages[v] ?? "";
  // A GPS fix fails now and then under a metal roof; the question is optional.
  if (d.chance(0.97)) {
    const vlat = lat + 0.03 * Math.cos(v * 2.1) + (d.random() - 0.5) * 0.008;
    const vlon = lon + 0.03 * Math.sin(v * 2.1) + (d.random() - 0.5) * 0.008;
    a["loc/gps"] = `${vlat.toFixed(7)} ${vlon.toFixed(7)} ${(280 + d.random() * 160).toFixed(1)} ${(3 + d.random() * 12).toFixed(1)}`;
  }
  a["loc/visit_date"] = ctx.localDay;
  const lgaIndex = [...ctx.lgasByState.values()].flat().indexOf(lga);
  return { state, lga, lgaIndex };
}

function givenName(d: Draw, female: boolean, christian: boolean): string {
  if (christian) return d.pick(female ? FEMALE_CHRISTIAN : MALE_CHRISTIAN);
  return d.pick(female ? FEMALE : MALE);
}

/** Household profile; returns what later sections depend on. */
interface Profile {
  readonly size: number;
  readonly under5: number;
  readonly displacement: string;
  /** 0 (secure) … 1 (most vulnerable): drives food consumption and coping. */
  readonly vulnerability: number;
  readonly christian: boolean;
}

function drawProfile(d: Draw, state: string, a: Answers): Profile {
  const christian = state === "adamawa" && d.chance(0.4);
  const displacement = d.weighted(DISPLACEMENT[state] ?? {});
  const femaleHead = d.chance(displacement === "host" ? 0.25 : 0.45);
  const head = givenName(d, femaleHead, christian);
  let size = 1;
  for (let i = 0; i < 12; i++) if (d.chance(0.45)) size++;
  const under5 = Math.min(size - 1, [0, 0, 1, 1, 1, 2, 2, 3][d.int(0, 7)] as number);
  a["hh/head_name"] = `${head} ${givenName(d, false, christian)}`;
  a["hh/head_sex"] = femaleHead ? "female" : "male";
  a["hh/head_age"] = String(Math.round(16 + (d.random() + d.random() + d.random()) * 18));
  a["hh/size"] = String(size);
  a["hh/children_u5"] = String(under5);
  a["hh/displacement"] = displacement;
  if (displacement !== "host") a["hh/months_displaced"] = String(displacement === "returnee" ? d.int(3, 48) : d.int(1, 110));
  a["hh/shelter_type"] = d.weighted(SHELTER[displacement] ?? {});
  a["hh/shelter_damage"] = d.weighted(displacement === "returnee" ? { none: 15, minor: 30, major: 35, destroyed: 20 } : { none: 45, minor: 35, major: 15, destroyed: 5 });
  const vulnerability = Math.min(1, d.random() * 0.5 + (displacement === "idp_camp" ? 0.4 : displacement === "host" ? 0 : 0.2) + (femaleHead ? 0.1 : 0));
  return { size, under5, displacement, vulnerability, christian };
}

/** The roster: the head first, then the children under 5, then everyone else. */
function drawMembers(d: Draw, p: Profile, a: Answers): void {
  const head = { "members/name": String(a["hh/head_name"]).split(" ")[0] ?? "", "members/age": String(a["hh/head_age"]), "members/sex": String(a["hh/head_sex"]) };
  const members = [head];
  const used = new Set([head["members/name"]]);
  for (let i = 1; i < p.size; i++) {
    const female = d.chance(0.52);
    const age = i <= p.under5 ? d.int(0, 4) : d.chance(0.6) ? d.int(5, 17) : d.int(18, 70);
    // Two members can share a name, but rarely: redraw a few times first.
    let name = givenName(d, female, p.christian);
    for (let tries = 0; tries < 4 && used.has(name); tries++) name = givenName(d, female, p.christian);
    used.add(name);
    members.push({ "members/name": name, "members/age": String(age), "members/sex": female ? "female" : "male" });
  }
  a.members = members;
}

function drawWash(d: Draw, size: number, displacement: string, a: Answers): void {
  a["wash/water_source"] = d.weighted(WATER[displacement === "idp_camp" ? "camp" : "other"] ?? {});
  // Counted in jerrycans (20 L, or the 25 L ones some agencies hand out), half-filled ones included.
  const can = d.chance(0.7) ? 20 : 25;
  a["wash/water_litres"] = String((Math.round(size * (0.35 + d.random() * 0.6) * 2) / 2) * can);
  a["wash/latrine"] = d.weighted(displacement === "idp_camp" ? { shared: 25, communal: 60, none: 15 } : { private: 45, shared: 30, communal: 10, none: 15 });
  a["wash/handwashing"] = d.chance(displacement === "idp_camp" ? 0.55 : 0.4) ? "yes" : "no";
}

/** Days in the past week for one food group: `base` days for a secure household, fewer as vulnerability `v` grows. */
function days(d: Draw, base: number, v: number, spread: number): string {
  return String(Math.max(0, Math.min(7, Math.round(base * (1 - v * 0.8) + (d.random() - 0.5) * spread))));
}

function drawFood(d: Draw, v: number, a: Answers): void {
  a["fs/fcs_cereals"] = days(d, 7, v * 0.3, 1);
  a["fs/fcs_pulses"] = days(d, 3.5, v, 3);
  a["fs/fcs_veg"] = days(d, 4.5, v, 3);
  a["fs/fcs_fruit"] = days(d, 1.5, v, 2);
  a["fs/fcs_meat"] = days(d, 2.5, v, 2);
  a["fs/fcs_dairy"] = days(d, 1.5, v, 2);
  a["fs/fcs_sugar"] = days(d, 4, v, 4);
  a["fs/fcs_oil"] = days(d, 6, v * 0.5, 2);
  const used = COPING.filter(() => d.chance(0.1 + 0.6 * v));
  a["fs/coping"] = used.length > 0 ? used.join(" ") : "none";
  a["fs/meals_per_day"] = String(v > 0.6 && d.chance(0.5) ? 1 : v > 0.25 || d.chance(0.3) ? 2 : 3);
}

function drawHealth(d: Draw, under5: number, displacement: string, a: Answers): void {
  a["health/illness"] = d.weighted({ yes: 35, no: 60, dont_know: 5 });
  if (a["health/illness"] === "yes") a["health/illness_type"] = pickSome(d, ILLNESS, d.chance(0.7) ? 1 : 2);
  const km = displacement === "idp_camp" ? 0.2 + d.random() * 2.3 : 0.5 + d.random() * d.random() * 18;
  a["health/facility_km"] = d.chance(0.3) ? String(Math.max(1, Math.round(km))) : km.toFixed(1);
  if (under5 > 0) a["health/vaccination"] = d.weighted({ all: 45, some: 25, none: 15, dont_know: 15 });
}

function drawNeeds(d: Draw, a: Answers): void {
  a["needs/priority"] = pickSome(d, NEEDS, d.chance(0.8) ? 3 : d.int(1, 2));
  a["needs/assistance"] = d.weighted({ none: 40, food: 25, cash: 15, in_kind: 10, several: 10 });
  if (d.chance(0.35)) a["needs/phone"] = `${d.pick(PHONE_PREFIXES)}${String(d.int(0, 9_999_999)).padStart(7, "0")}`;
  if (d.chance(0.12)) a["needs/remarks"] = d.pick(REMARKS);
}

/** One household's answers, in form order; a refused interview (4 %) stops after the location. */
export function drawHousehold(d: Draw, ctx: HouseholdContext): Household {
  const a: Answers = {};
  const { state, lgaIndex } = drawLocation(d, ctx, a);
  const enumerator = `msna_enum${String(2 * lgaIndex + d.int(1, 2)).padStart(2, "0")}`;
  a.consent = d.chance(0.96) ? "yes" : "no";
  if (a.consent === "no") return { answers: a, enumerator };
  const p = drawProfile(d, state, a);
  drawMembers(d, p, a);
  drawWash(d, p.size, p.displacement, a);
  drawFood(d, p.vulnerability, a);
  drawHealth(d, p.under5, p.displacement, a);
  drawNeeds(d, a);
  return { answers: a, enumerator };
}
