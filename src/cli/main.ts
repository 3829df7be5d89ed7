#!/usr/bin/env node
/**
 * The meshlogd command. With no command it runs the embedded default: three
 * simulated sites, each with its own form server and admin page, converging
 * over simulated LoRa radios.
 */
import { ConfigError } from "../bridge/mapping-config.js";
import { runEngineDemo } from "../demo/engine-demo.js";
import { IdentityFileError } from "../engine/store/identity-file.js";
import { benchCommand } from "./bench-command.js";
import { exportCommand, importCommand } from "./bundle-commands.js";
import { embeddedCommand } from "./embedded-command.js";
import { formsCommand } from "./forms-command.js";
import { initCommand } from "./init-command.js";
import { numberOption, parseOptions, UsageError } from "./options.js";
import { rnodeCommand } from "./rnode-command.js";
import { isUserError, runCommand } from "./run-command.js";
import { statusCommand } from "./status-command.js";

const USAGE = `usage: meshlogd [command] [options]

commands:
  (none) [--speed 1] [--port 8080]
                             the embedded default: three simulated sites with their own form servers
                             and admin pages, converging over simulated LoRa radios (Ctrl-C stops)
  run --config FILE          run this site: poll the form server, sync over the links, write back,
                             serve the API and admin page (SIGTERM/Ctrl-C stops it cleanly)
  init [--config FILE] [--site NAME] [--network NAME] [--server kobo|odk] [--new-network] [--stdout]
                             create this site's identity and a commented config to fill in
  forms [--config FILE]      list the forms on the local server and print their mappings
  status [--config FILE | --url URL]
                             how the running site is: server, links, stations heard, outbox
  rnode probe PORT           what RNode is on a serial port and how its radio is set
  export FILE [--config FILE]
                             write this site's feeds to a signed (and, with a network key, sealed) bundle
  import FILE [--config FILE]
                             import a bundle: through the running site if it answers, else into the database
  demo [--loss 0.2] [--seed 42]
                             the engine alone: five simulated sites converge over a lossy channel
  bench airtime --asset ASSET.json --data DATA.json [--sf 9] [--bw 125000] [--cr 5] [--sealed yes|no]
                             bytes, frames and airtime per submission of a Kobo data page (JSON lines)
  help                       show this text

FILE defaults to $MESHLOGD_CONFIG, else ./meshlogd.yml.`;

async function main(argv: readonly string[]): Promise<number> {
  const [command = "embedded", ...rest] = argv;
  if (command.startsWith("--") && command !== "--help") return embeddedCommand(argv);
  switch (command) {
    case "embedded":
      return embeddedCommand(rest);
    case "run":
      return runCommand(rest);
    case "init":
      return initCommand(rest);
    case "forms":
      return formsCommand(rest);
    case "status":
      return statusCommand(rest);
    case "rnode":
      return rnodeCommand(rest);
    case "export":
      return exportCommand(rest);
    case "import":
      return importCommand(rest);
    case "demo": {
      const opts = parseOptions(rest, ["loss", "seed"]);
      const result = runEngineDemo({
        log: (line) => process.stdout.write(`${line}\n`),
        loss: numberOption(opts, "loss", 0, 0.9),
        seed: numberOption(opts, "seed", 0, 2 ** 31),
      });
      return result.passed ? 0 : 1;
    }
    case "bench":
      return benchCommand(rest);
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`meshlogd: ${err.message}\n\n${USAGE}\n`);
      process.exitCode = 2;
    } else if (err instanceof ConfigError || err instanceof IdentityFileError || isUserError(err)) {
      process.stderr.write(`meshlogd: ${(err as Error).message}\n`);
      process.exitCode = 1;
    } else {
      throw err;
    }
  },
);
