/**
 * `meshlogd run` as a child process, as a site's operator starts it: a YAML
 * config on disk, secrets in the environment, JSON log lines on stdout. The
 * harness reads the API's address from the log and stops the process with
 * SIGTERM, as docker and systemd do.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";

const MAIN = new URL("../../src/cli/main.js", import.meta.url).pathname;
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

function waitExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the site did not stop within ${PROCESS_WAIT_MS} ms of SIGTERM`));
    }, PROCESS_WAIT_MS);
    child.once("exit", (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

/** Starts `meshlogd run --config FILE`; resolves once the API is listening. */
export function startSiteProcess(configFile: string, env: Record<string, string>): Promise<SiteProcess> {
  const child = spawn(process.execPath, [MAIN, "run", "--config", configFile], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  let buffer = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the site did not start within ${PROCESS_WAIT_MS} ms:\n${lines.join("\n")}`));
    }, PROCESS_WAIT_MS);
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        let parsed: { msg?: string; url?: string } = {};
        try {
          parsed = JSON.parse(line) as typeof parsed;
        } catch {
          // not a log line (a stack trace): kept in `lines` for the failure message
        }
        if (parsed.msg === "admin page and API ready" && parsed.url) {
          clearTimeout(timer);
          const url = parsed.url;
          resolve({
            url, lines,
            stop: () => {
              child.kill("SIGTERM");
              return waitExit(child);
            },
            exited: () => waitExit(child),
          });
        }
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (c: Buffer) => lines.push(`[stderr] ${c.toString("utf8")}`));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the site exited with ${String(code)} before its API was ready:\n${lines.join("\n")}`));
    });
  });
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
