/**
 * `${NAME}` and `${NAME:-default}` in a config's string values, taken from
 * the environment: secrets (tokens, passwords, the network key) live in an
 * env file, never in the YAML. `$${` writes a literal `${`.
 */

/** The expanded value, and one problem per variable that is not set (naming the key). */
export interface Expanded {
  readonly value: unknown;
  readonly missing: string[];
}

const PATTERN = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

function where(path: readonly (string | number)[]): string {
  return path.reduce<string>((out, p) => (typeof p === "number" ? `${out}[${p}]` : out === "" ? p : `${out}.${p}`), "") || "(top level)";
}

export function expandEnv(raw: unknown, env: NodeJS.ProcessEnv): Expanded {
  const missing: string[] = [];
  const walk = (v: unknown, path: (string | number)[]): unknown => {
    if (typeof v === "string") {
      return v.replace(PATTERN, (all, name: string | undefined, fallback: string | undefined) => {
        if (name === undefined) return "${";
        const got = env[name];
        if (got !== undefined && got !== "") return got;
        if (fallback !== undefined) return fallback;
        missing.push(`${where(path)}: the environment variable ${name} is not set (set it in the env file or the environment, or write the value here)`);
        return all;
      });
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...path, k])]));
    }
    return v;
  };
  return { value: walk(raw, []), missing };
}
