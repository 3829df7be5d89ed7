#!/usr/bin/env node
/**
 * The meshlogd command. Until the service lands, its default is the engine
 * demo: several simulated sites converging over a lossy channel.
 */
import { runEngineDemo } from "../demo/engine-demo.js";

const USAGE = `usage: meshlogd [command]

commands:
  demo [--loss 0.2] [--seed 42]   run the engine demo: a base camp and four field teams
                                  converge over a simulated lossy channel (the default)
  help                            show this text`;

/** Parses `--name value` options; unknown options are an error that names them. */
function parseOptions(args: readonly string[], known: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const name = arg.replace(/^--/, "");
    if (!arg.startsWith("--") || !known.includes(name)) throw new UsageError(`unknown option "${arg}"`);
    const value = args[i + 1];
    if (value === undefined) throw new UsageError(`option "${arg}" needs a value`);
    out.set(name, value);
    i++;
  }
  return out;
}

function numberOption(opts: Map<string, string>, name: string, min: number, max: number): number | undefined {
  const raw = opts.get(name);
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new UsageError(`--${name} must be a number from ${min} to ${max}, got "${raw}"`);
  return v;
}

class UsageError extends Error {}

function main(argv: readonly string[]): number {
  const [command = "demo", ...rest] = argv;
  switch (command) {
    case "demo": {
      const opts = parseOptions(rest, ["loss", "seed"]);
      const result = runEngineDemo({
        log: (line) => process.stdout.write(`${line}\n`),
        loss: numberOption(opts, "loss", 0, 0.9),
        seed: numberOption(opts, "seed", 0, 2 ** 31),
      });
      return result.passed ? 0 : 1;
    }
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`meshlogd: ${err.message}\n\n${USAGE}\n`);
  process.exitCode = 2;
}
