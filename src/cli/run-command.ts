/**
 * `meshlogd run --config FILE`: runs one site until SIGTERM or SIGINT, then
 * stops it cleanly (the running poll round finishes, unwritten records stay
 * in the outbox, the database is closed). A second signal exits at once.
 */
import { ConfigError } from "../bridge/mapping-config.js";
import { MappingError } from "../bridge/mapping.js";
import { IdentityFileError } from "../engine/store/identity-file.js";
import { StorageError } from "../engine/store/storage-failure.js";
import { HttpListenError } from "../http/server.js";
import { createServiceLogger } from "../log/terminal-logger.js";
import { NetworkKeyError } from "../radio/air/network-key.js";
import { RNodeError } from "../radio/rnode/errors.js";
import { UdpBindError } from "../radio/udp-link.js";
import { loadSiteConfig, secretsOf } from "../service/site-config.js";
import { startSite, type RunningSite } from "../service/start-site.js";
import { configPath, parseArgs } from "./options.js";

/** Errors a user can fix from the message alone: printed without a stack trace. */
export function isUserError(err: unknown): err is Error {
  return [ConfigError, MappingError, IdentityFileError, HttpListenError, NetworkKeyError, RNodeError, UdpBindError, StorageError].some((c) => err instanceof c);
}

/** Resolves when the process receives SIGTERM or SIGINT. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.removeListener("SIGTERM", on);
      process.removeListener("SIGINT", on);
      // A second signal while stopping: the user wants out now; SQLite's journal keeps the database consistent.
      const hard = () => process.exit(130);
      process.once("SIGTERM", hard);
      process.once("SIGINT", hard);
      resolve(sig);
    };
    process.on("SIGTERM", on);
    process.on("SIGINT", on);
  });
}

export async function runCommand(args: readonly string[]): Promise<number> {
  const { options } = parseArgs(args, ["config"]);
  const loaded = loadSiteConfig(configPath(options));
  const { config } = loaded;
  const log = createServiceLogger({ level: config.log.level, format: config.log.format, secrets: secretsOf(config) });
  let running: RunningSite;
  try {
    running = await startSite({ loaded, log });
  } catch (err) {
    if (isUserError(err)) {
      log.error("the site cannot start", { reason: err.message });
      return 1;
    }
    throw err;
  }
  const sig = await untilSignal();
  log.info("signal received; stopping", { signal: sig });
  await running.stop();
  return 0;
}
