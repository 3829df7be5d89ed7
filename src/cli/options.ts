/**
 * Command-line options: `--name value` pairs and `--flag`s, checked against
 * what a command knows; anything else is a usage error that names it.
 */

/** A mistake in how the command was called; main prints it with the usage text. */
export class UsageError extends Error {}

export interface ParsedArgs {
  readonly options: Map<string, string>;
  readonly flags: Set<string>;
  readonly positional: string[];
}

/** Parses `args`; `known` options take a value, `flags` take none. */
export function parseArgs(args: readonly string[], known: readonly string[], flags: readonly string[] = []): ParsedArgs {
  const options = new Map<string, string>();
  const set = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const name = arg.slice(2);
    if (flags.includes(name)) {
      set.add(name);
      continue;
    }
    if (!known.includes(name)) throw new UsageError(`unknown option "${arg}"`);
    const value = args[i + 1];
    if (value === undefined || value.startsWith("--")) throw new UsageError(`option "${arg}" needs a value`);
    options.set(name, value);
    i++;
  }
  return { options, flags: set, positional };
}

/** The old form: options only, no positionals. */
export function parseOptions(args: readonly string[], known: readonly string[]): Map<string, string> {
  const p = parseArgs(args, known);
  if (p.positional.length > 0) throw new UsageError(`unexpected argument "${p.positional[0]}"`);
  return p.options;
}

export function numberOption(opts: Map<string, string>, name: string, min: number, max: number): number | undefined {
  const raw = opts.get(name);
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new UsageError(`--${name} must be a number from ${min} to ${max}, got "${raw}"`);
  return v;
}

/** The config file: --config, else $MESHLOGD_CONFIG, else ./meshlogd.yml. */
export function configPath(opts: Map<string, string>, env: NodeJS.ProcessEnv = process.env): string {
  return opts.get("config") ?? env.MESHLOGD_CONFIG ?? "meshlogd.yml";
}
