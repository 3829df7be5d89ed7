/**
 * A mapping checked against the form the local server really has: which of
 * the form's replicable units (fields outside repeats, whole repeats) travel,
 * under which shared name, with which radio policy. Checked once at start-up;
 * every problem is reported with the key, the form and the fix.
 */
import type { RecordType } from "../engine/ids.js";
import { replicableNodes, walkSchema, type FieldNode, type FormSchema, type RepeatNode } from "./form-schema.js";
import { sourceKey, type MappingConfig, type RadioPolicy } from "./mapping-config.js";

/** One replicable unit of the local form and how it travels. */
export interface MappedUnit {
  /** Path in the local form ("hh/size"). */
  readonly local: string;
  /** Name in the record type, the same at every site. */
  readonly shared: string;
  readonly node: FieldNode | RepeatNode;
  readonly radio: RadioPolicy;
}

export interface ResolvedMapping {
  readonly type: RecordType;
  /** "kobo:<asset>" or "odk:<project>:<form>": keys the bridge's tables. */
  readonly source: string;
  readonly schema: FormSchema;
  readonly config: MappingConfig;
  readonly units: readonly MappedUnit[];
  readonly byLocal: ReadonlyMap<string, MappedUnit>;
  readonly byShared: ReadonlyMap<string, MappedUnit>;
}

/** A mapping that does not fit its form (or the other mappings). */
export class MappingError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`the form mappings do not fit the forms on the server:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "MappingError";
  }
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function suggest(path: string, known: readonly string[]): string {
  const best = known.map((k) => ({ k, d: distance(path, k) })).sort((x, y) => x.d - y.d)[0];
  if (best && best.d <= Math.max(2, Math.floor(path.length / 3))) return `did you mean '${best.k}'?`;
  const list = known.slice(0, 12).join(", ");
  return `the form's fields are: ${list}${known.length > 12 ? ", …" : ""}`;
}

/** True for a file question, or a repeat with one inside. */
function holdsFiles(node: FieldNode | RepeatNode): boolean {
  return node.kind === "field" ? node.type === "binary" : [...walkSchema(node.children)].some((c) => c.kind === "field" && c.type === "binary");
}

/** Checks one mapping against its form; `key` is its config path ("mappings[2]"). Throws MappingError. */
export function resolveMapping(cfg: MappingConfig, key: string, schema: FormSchema): ResolvedMapping {
  const problems: string[] = [];
  const form = `form '${schema.formId}' ("${schema.title}")`;
  const nodes = replicableNodes(schema);
  const known = [...nodes.keys()];
  const insideRepeat = new Map<string, string>();
  for (const n of walkSchema(schema.nodes)) if (n.kind === "repeat") for (const c of walkSchema(n.children)) insideRepeat.set(c.path, n.path);

  const check = (where: string, path: string): boolean => {
    if (nodes.has(path)) return true;
    const repeat = insideRepeat.get(path);
    if (repeat) problems.push(`${key}.${where}: '${path}' is inside the repeat '${repeat}' of ${form}; a repeat travels as one value, so name '${repeat}' instead`);
    else problems.push(`${key}.${where}: '${path}' is not a field of ${form}; ${suggest(path, known)}`);
    return false;
  };

  const included = cfg.fields.include ? cfg.fields.include.filter((p) => check("fields.include", p)) : known;
  cfg.fields.exclude.forEach((p) => check("fields.exclude", p));
  Object.keys(cfg.fields.rename).forEach((p) => check(`fields.rename.'${p}'`, p));
  Object.keys(cfg.fields.radio).forEach((p) => check(`fields.radio.'${p}'`, p));

  const excluded = new Set(cfg.fields.exclude);
  const units: MappedUnit[] = [];
  const byShared = new Map<string, MappedUnit>();
  for (const local of included) {
    if (excluded.has(local)) continue;
    const node = nodes.get(local)!;
    const shared = cfg.fields.rename[local] ?? local;
    const unit: MappedUnit = { local, shared, node, radio: cfg.fields.radio[local] ?? "send" };
    const clash = byShared.get(shared);
    if (clash) {
      problems.push(`${key}.fields.rename: '${clash.local}' and '${local}' of ${form} would both be called '${shared}'; give one of them another name`);
      continue;
    }
    byShared.set(shared, unit);
    units.push(unit);
  }
  if (units.length === 0 && problems.length === 0) {
    problems.push(`${key}.fields: no field of ${form} is left to replicate; remove the exclude list or include at least one field`);
  }
  const policy = cfg.attachments.policy;
  if (policy !== "none" && units.length > 0 && !units.some((u) => u.radio === "send" && holdsFiles(u.node))) {
    problems.push(`${key}.attachments.policy: "${policy}", but no file question (image, audio, video, file) of ${form} is among the fields sent on air; include one (radio "send"), or use policy "none"`);
  }
  if (problems.length > 0) throw new MappingError(problems);
  return {
    type: cfg.type as RecordType,
    source: sourceKey(cfg),
    schema,
    config: cfg,
    units,
    byLocal: new Map(units.map((u) => [u.local, u])),
    byShared,
  };
}

/** Problems between mappings: a form mapped twice, or a record type given two forms at one site (where would it be written?). */
export function crossCheckMappings(mappings: readonly MappingConfig[]): string[] {
  const problems: string[] = [];
  const bySource = new Map<string, number>();
  const byType = new Map<string, number>();
  mappings.forEach((m, i) => {
    const s = sourceKey(m);
    const prevSource = bySource.get(s);
    if (prevSource !== undefined) problems.push(`mappings[${i}].source: the form ${s} is already mapped by mappings[${prevSource}]; map each form once`);
    else bySource.set(s, i);
    const prevType = byType.get(m.type);
    if (prevType !== undefined) {
      problems.push(`mappings[${i}].type: record type '${m.type}' is already mapped to a form by mappings[${prevType}]; at one site a record type lives in one form`);
    } else byType.set(m.type, i);
  });
  return problems;
}
