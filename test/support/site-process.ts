/**
 * `meshlogd run` as a child process, as a site's operator starts it: a YAML
 * config on disk, secrets in the environment, JSON log lines on stdout. The
 * harness reads the API's address from the log and stops the process with
 * SIGTERM, as docker and systemd do.
 */
import { createSocket } from "node:dgram";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { spawnSite, type SiteChild } from "./site-child.js";

/** Longest wait for a child to print that its API is ready, or to exit after SIGTERM. */
const PROCESS_WAIT_MS = 30_000;

export interface SiteProcess {
  readonly url: string;
  readonly lines: string[];
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** Resolves with the exit code when the process ends by itself. */
  exited(): Promise<number | null>;
}

/** A UDP port free right now on 127.0.0.1. */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export function writeConfig(dir: string, config: Record<string, unknown>): string {
  const file = join(dir, "meshlogd.yml");
  writeFileSync(file, stringify(config));
  return file;
}

/** Resolves with the exit code; SIGKILLs and fails if the child has not ended within PROCESS_WAIT_MS. */
function exitWithin(child: SiteChild): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.process.kill("SIGKILL");
      reject(new Error(`the site did not stop within ${PROCESS_WAIT_MS} ms of SIGTERM`));
    }, PROCESS_WAIT_MS);
  });
  return Promise.race([child.exit.then((e) => e.code), late]).finally(() => clearTimeout(timer));
}

/** Starts `meshlogd run --config FILE`; resolves once the API is listening. */
export async function startSiteProcess(configFile: string, env: Record<string, string>): Promise<SiteProcess> {
  const child = spawnSite(configFile, { env });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), PROCESS_WAIT_MS)));
  const url = await Promise.race([child.ready, late]).finally(() => clearTimeout(timer));
  if (url === null) {
    child.process.kill("SIGKILL");
    throw new Error(`the site did not get its API ready within ${PROCESS_WAIT_MS} ms, or exited:\n${child.lines.join("\n")}`);
  }
  return {
    url, lines: child.lines,
    stop: () => {
      child.process.kill("SIGTERM");
      return exitWithin(child);
    },
    exited: () => exitWithin(child),
  };
}

/** Polls `check` every 100 ms until it holds; fails after `ms` with `what`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
