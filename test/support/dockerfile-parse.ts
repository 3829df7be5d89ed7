/**
 * Just enough of the Dockerfile and .dockerignore grammars for the deployment
 * checks: instructions grouped into stages (continuation lines joined,
 * comments dropped), exec-form arrays, COPY's flags, ENV pairs, and Docker's
 * ignore-file matching (last matching pattern wins, `!` re-includes, a pattern
 * that matches a folder covers everything under it).
 */

/** One instruction; `keyword` is upper-case, `args` the rest of the (joined) line. */
export interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** A build stage: its FROM image, its `AS` name if any, and its instructions after FROM. */
export interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

/** A COPY/ADD: the stage it copies from (undefined for the build context), its sources and destination. */
export interface CopySpec {
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly dest: string;
}

/** Joins continuation lines and drops comments and blank lines (as Docker does, also inside a continuation). */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let pending = "";
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    out.push(pending + line);
    pending = "";
  }
  if (pending !== "") out.push(pending.trim());
  return out;
}

/** The stages of a Dockerfile, in order. Instructions before the first FROM (ARG) are ignored. */
export function parseDockerfile(text: string): Stage[] {
  const stages: { image: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const line of logicalLines(text)) {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    if (match === null) continue;
    const keyword = (match[1] ?? "").toUpperCase();
    const args = match[2] ?? "";
    if (keyword === "FROM") {
      const words = args.split(/\s+/).filter((w) => !w.startsWith("--"));
      const asAt = words.findIndex((w) => w.toUpperCase() === "AS");
      stages.push({ image: words[0] ?? "", name: asAt >= 0 ? words[asAt + 1] : undefined, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword, args });
    }
  }
  return stages;
}

/** The JSON array of an exec-form instruction, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  const t = args.trim();
  if (!t.startsWith("[")) return undefined;
  try {
    const parsed: unknown = JSON.parse(t);
    return Array.isArray(parsed) && parsed.every((p) => typeof p === "string") ? (parsed as string[]) : undefined;
  } catch {
    return undefined;
  }
}

/** COPY/ADD arguments: `--from=` picked out, other flags (--chown, --chmod, --link) skipped. */
export function parseCopy(args: string): CopySpec {
  const words = args.trim().split(/\s+/);
  let from: string | undefined;
  let i = 0;
  for (; i < words.length && (words[i] ?? "").startsWith("--"); i++) {
    const flag = words[i] ?? "";
    if (flag.startsWith("--from=")) from = flag.slice("--from=".length);
  }
  const rest = words.slice(i).join(" ");
  const paths = execForm(rest) ?? rest.split(/\s+/);
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1) ?? "" };
}

/** The variables an ENV instruction sets (`K=V K2=V2`, or the legacy `K V`); quotes around values removed. */
export function parseEnv(args: string): Map<string, string> {
  const out = new Map<string, string>();
  const t = args.trim();
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(t)) {
    const [key = "", ...value] = t.split(/\s+/);
    out.set(key, value.join(" "));
    return out;
  }
  for (const m of t.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S*)/g)) {
    out.set(m[1] ?? "", (m[2] ?? "").replace(/^(["'])(.*)\1$/, "$2"));
  }
  return out;
}

/** A .dockerignore glob as a regular expression over slash-separated paths relative to the context. */
function globRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? "";
    if (c === "*" && glob[i + 1] === "*") {
      re += ".*";
      i++;
      if (glob[i + 1] === "/") i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** Whether Docker leaves `path` (relative to the context, with slashes) out of the build context. */
export function isDockerIgnored(dockerignore: string, path: string): boolean {
  const rules = dockerignore
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => (l.startsWith("!") ? { include: true, glob: l.slice(1) } : { include: false, glob: l }))
    .map((r) => ({ include: r.include, re: globRegExp(r.glob.replace(/^\/+/, "").replace(/\/+$/, "")) }));
  const clean = path.replace(/^\.\//, "").replace(/\/+$/, "");
  const parts = clean.split("/");
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let ignored = false;
  for (const rule of rules) {
    if (prefixes.some((p) => rule.re.test(p))) ignored = !rule.include;
  }
  return ignored;
}
