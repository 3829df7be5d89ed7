/**
 * A small file system of its own for one site's data directory, without
 * touching the machine's mounts: a tmpfs mounted over the directory inside a
 * private user and mount namespace (`unshare -Urm`), kept alive by a sleeping
 * holder process. Sites run inside it through `nsenter`; the test reaches its
 * files through /proc/<holder>/root, fills it to make the disk full, frees
 * it, or remounts it read-only. Needs unprivileged user namespaces (or root);
 * `privateMountUnavailable()` says why not when they are off.
 *
 * Imported by tests only; no side effects.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

/** Null when private mounts work here, else why not (for the skip message). */
export function privateMountUnavailable(): string | null {
  const r = spawnSync("unshare", ["-Urm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], { encoding: "utf8" });
  if (r.error) return `unshare is not installed (${r.error.message})`;
  if (r.status !== 0) return `unprivileged user and mount namespaces are off here: ${r.stderr.trim()}`;
  return null;
}

export interface PrivateMount {
  /** Runs a command inside the namespace: put before the site's argv. */
  readonly prefix: readonly string[];
  /** Where `name` in the mounted directory is, seen from the test process. */
  outside(name: string): string;
  /** Fills the file system to the last block; returns the bytes written. */
  fill(): number;
  /** Frees what fill() took. */
  free(): void;
  /** Remounts read-only (true) or read-write (false). */
  setReadOnly(readOnly: boolean): void;
  close(): Promise<void>;
}

const FILLER = ".filler";
const CHUNK = Buffer.alloc(256 * 1024, 0x5a);

/** Mounts a tmpfs of `bytes` over `dir`, with what `dir` held copied in. */
export async function createPrivateMount(dir: string, bytes: number): Promise<PrivateMount> {
  const script = 'set -e; mkdir -p "$1.keep"; cp -a "$1/." "$1.keep/"; mount -t tmpfs -o "size=$2" tmpfs "$1"; cp -a "$1.keep/." "$1/"; echo mounted; exec sleep 1000000';
  const holder: ChildProcess = spawn("unshare", ["-Urm", "sh", "-c", script, "sh", dir, String(bytes)], { stdio: ["ignore", "pipe", "pipe"] });
  let said = "";
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.on("data", (c: Buffer) => {
      said += c.toString();
      if (said.includes("mounted")) resolve();
    });
    holder.stderr?.on("data", (c: Buffer) => (said += c.toString()));
    holder.once("exit", (code) => reject(new Error(`the private mount failed (${code}): ${said}`)));
  });
  const pid = String(holder.pid);
  const outside = (name: string) => join(`/proc/${pid}/root`, dir, name);
  const inside = (...argv: string[]) => execFileSync("nsenter", ["-t", pid, "-U", "-m", ...argv], { stdio: "pipe" });
  return {
    prefix: ["nsenter", "-t", pid, "-U", "-m", "--"],
    outside,
    fill() {
      const fd = openSync(outside(FILLER), "a");
      let written = 0;
      try {
        for (;;) written += writeSync(fd, CHUNK);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
      } finally {
        closeSync(fd);
      }
      return written;
    },
    free: () => rmSync(outside(FILLER), { force: true }),
    setReadOnly: (ro) => void inside("mount", "-o", `remount,${ro ? "ro" : "rw"}`, dir),
    async close() {
      holder.kill("SIGKILL");
      if (holder.exitCode === null) await new Promise((r) => holder.once("exit", r));
    },
  };
}
