/**
 * `meshlogd run --config FILE` as a child process, handed over at once (the
 * hardening tests may kill it at any moment): its log lines, when its API is
 * ready, and how it ended. site-process.ts (which waits for the API) and the
 * load benchmark build on it.
 * An optional command prefix runs the site inside another tool (e.g.
 * `unshare`, for a private mount of its data directory).
 *
 * Imported by tests and benchmarks only; no side effects.
 */
import { spawn, type ChildProcess } from "node:child_process";

const MAIN = new URL("../../src/cli/main.js", import.meta.url).pathname;

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SiteChild {
  readonly process: ChildProcess;
  /** Log lines (JSON) and stderr chunks, in arrival order. */
  readonly lines: string[];
  /** The API's URL once the site logged that it is ready; null if it exited first. */
  readonly ready: Promise<string | null>;
  readonly exit: Promise<ExitInfo>;
  /** Parsed JSON log lines seen so far at `level` (e.g. "error"). */
  logged(level: string): { msg: string; [key: string]: unknown }[];
}

export interface SpawnSiteOptions {
  readonly env?: Record<string, string>;
  /** Command and arguments put before `node main.js run --config FILE`. */
  readonly prefix?: readonly string[];
  /** Told of each stdout line as it arrives (e.g. to time start-up milestones). */
  readonly onLine?: (line: string) => void;
}

/** The argv that runs a site with `configFile` (for a shell wrapper). */
export function siteArgv(configFile: string): string[] {
  return [process.execPath, MAIN, "run", "--config", configFile];
}

export function spawnSite(configFile: string, o: SpawnSiteOptions = {}): SiteChild {
  const argv = [...(o.prefix ?? []), ...siteArgv(configFile)];
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...o.env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  let buffer = "";
  let onReady: (url: string | null) => void = () => {};
  const ready = new Promise<string | null>((resolve) => (onReady = resolve));
  const exit = new Promise<ExitInfo>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  void exit.then(() => onReady(null));
  child.stdout?.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      lines.push(line);
      o.onLine?.(line);
      if (line.includes('"admin page and API ready"')) onReady((JSON.parse(line) as { url: string }).url);
    }
  });
  child.stderr?.on("data", (c: Buffer) => lines.push(`[stderr] ${c.toString("utf8")}`));
  return {
    process: child, lines, ready, exit,
    logged(level) {
      const out: { msg: string }[] = [];
      for (const l of lines) {
        if (!l.startsWith("{") || !l.includes(`"level":"${level}"`)) continue;
        try {
          out.push(JSON.parse(l) as { msg: string });
        } catch {
          // a line cut by the kill
        }
      }
      return out;
    },
  };
}
