/**
 * People at work on both form servers while the hardening tests break
 * things: new submissions, edits of any current submission (including ones
 * a site is writing right now, so 409 races happen) and a few deletions, at
 * random moments. Also reads both servers back as record id → answers, the
 * shape the end checks compare.
 *
 * Imported by tests only; no side effects.
 */
import { valuesFromKoboJson, valuesFromXml } from "../../../src/bridge/submission-values.js";
import { parseXml } from "../../../src/bridge/xml.js";
import type { CborValue } from "../../../src/engine/cbor.js";
import { koboSchema, odkSchema } from "../../support/household-forms.js";
import { KOBO_UID, type ProcessWorld } from "./process-sites.js";

const VILLAGES = ["north", "south", "east"];
/** The answers the workload sets; the end checks compare these between the servers. */
export const COMPARED_FIELDS = ["village", "hh/head_name", "hh/size", "notes"] as const;

export interface ServerRecords {
  /** Record id (rootUuid at Kobo, instanceId at Central) → the compared answers. */
  readonly records: Map<string, Map<string, CborValue>>;
  /** Submissions the server holds: more than records.size means one record is there twice. */
  readonly count: number;
}

function compared(values: Map<string, CborValue>): Map<string, CborValue> {
  return new Map(COMPARED_FIELDS.map((f) => [f, values.get(f) ?? null]));
}

/** The instanceIDs of the current versions on site i's server. */
export function currentVersions(w: ProcessWorld, i: 0 | 1): Set<string> {
  if (i === 0) return new Set(w.kobo.submissions(KOBO_UID).map((r) => String(r["meta/instanceID"])));
  return new Set(w.odk.submissions(w.project, w.form).map((s) => s.currentInstanceId));
}

/** The records on site i's server. */
export function serverRecords(w: ProcessWorld, i: 0 | 1): ServerRecords {
  if (i === 0) {
    const schema = koboSchema();
    const rows = w.kobo.submissions(KOBO_UID);
    return { records: new Map(rows.map((r) => [String(r["meta/rootUuid"]), compared(valuesFromKoboJson(schema, r))])), count: rows.length };
  }
  const schema = odkSchema();
  const subs = w.odk.submissions(w.project, w.form);
  return { records: new Map(subs.map((s) => [s.instanceId, compared(valuesFromXml(schema, parseXml(s.xml)))])), count: subs.length };
}

export interface ActionCounts {
  creates: number;
  edits: number;
  deletes: number;
}

export interface FieldWorkload {
  /** Per server: what people did there. */
  readonly done: readonly [ActionCounts, ActionCounts];
  /** Every record id people created, at either server. */
  readonly created: Set<string>;
  /** Records a person deleted somewhere (an edit elsewhere may bring one back). */
  readonly deleted: Set<string>;
  /** One action now (also what the timer does). */
  act(): void;
  stop(): void;
}

export interface WorkloadOptions {
  readonly random: () => number;
  /** Pause between actions, ms: uniform in [min, max]. Absent: no timer, the test calls act(). */
  readonly pauseMs?: readonly [number, number];
  /** Shares of edits and deletes among actions (the rest are new submissions). */
  readonly editShare?: number;
  readonly deleteShare?: number;
}

export function startFieldWorkload(w: ProcessWorld, o: WorkloadOptions): FieldWorkload {
  const { random } = o;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const done: [ActionCounts, ActionCounts] = [{ creates: 0, edits: 0, deletes: 0 }, { creates: 0, edits: 0, deletes: 0 }];
  const created = new Set<string>();
  const deleted = new Set<string>();
  let n = 0;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  const answers = () => ({ village: pick(VILLAGES), "hh/head_name": `Head ${++n}`, "hh/size": String(1 + Math.floor(random() * 9)), visit_date: "2026-11-20" });
  const patch = (): Record<string, unknown> =>
    pick([{ "hh/size": String(1 + Math.floor(random() * 9)) }, { notes: `note ${++n}` }, { village: pick(VILLAGES) }]);

  function create(i: 0 | 1): void {
    const id = i === 0 ? String(w.kobo.submitLocal(KOBO_UID, answers())["meta/rootUuid"]) : w.odk.submitLocal(w.project, w.form, answers());
    created.add(id);
    done[i].creates += 1;
  }

  function change(i: 0 | 1, remove: boolean): boolean {
    if (i === 0) {
      const rows = w.kobo.submissions(KOBO_UID);
      if (rows.length === 0) return false;
      const row = pick(rows);
      if (remove) w.kobo.deleteLocal(KOBO_UID, row._id as number);
      else w.kobo.editLocal(KOBO_UID, row._id as number, patch());
      if (remove) deleted.add(String(row["meta/rootUuid"]));
    } else {
      const subs = w.odk.submissions(w.project, w.form);
      if (subs.length === 0) return false;
      const s = pick(subs);
      if (remove) w.odk.deleteLocal(w.project, w.form, s.instanceId);
      else w.odk.editLocal(w.project, w.form, s.instanceId, patch());
      if (remove) deleted.add(s.instanceId);
    }
    done[i][remove ? "deletes" : "edits"] += 1;
    return true;
  }

  function act(): void {
    const i: 0 | 1 = random() < 0.5 ? 0 : 1;
    const r = random();
    const del = o.deleteShare ?? 0;
    if (r < del && change(i, true)) return;
    if (r < del + (o.editShare ?? 0) && change(i, false)) return;
    create(i);
  }

  function next(): void {
    if (stopped || !o.pauseMs) return;
    const [min, max] = o.pauseMs;
    timer = setTimeout(() => {
      act();
      next();
    }, min + random() * (max - min));
  }
  next();

  return {
    done, created, deleted, act,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
