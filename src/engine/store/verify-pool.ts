/**
 * Ed25519 verification on other cores, behind a synchronous interface. The
 * store hands a batch's signatures to the pool, applies the batch in its
 * transaction meanwhile, and waits for the verdicts before it commits: the
 * signature checks overlap the SQLite work. If no worker can run, every check
 * happens inline, exactly as without the pool.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { verifySignature } from "../crypto.js";
import { signingMessage } from "../event.js";
import { JOB_BYTES, type VerifyRequest } from "./verify-protocol.js";

export interface SignatureJob {
  readonly publicKey: Uint8Array;
  readonly id: Uint8Array;
  readonly signature: Uint8Array;
}

/** Verdicts of a batch still being checked. `wait` blocks until all are in. */
export interface PendingVerdicts {
  wait(): boolean[];
}

export interface VerifyPool {
  start(jobs: readonly SignatureJob[]): PendingVerdicts;
}

/** Longest a batch may wait for a worker before checking its signatures inline (a stuck or dead worker). */
const WORKER_TIMEOUT_MS = 30_000;

function verifyInline(jobs: readonly SignatureJob[]): boolean[] {
  return jobs.map((j) => verifySignature(j.publicKey, signingMessage(j.id), j.signature));
}

class WorkerPool implements VerifyPool {
  private readonly workers: Worker[] = [];
  private broken = false;

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL("./verify-worker.js", import.meta.url));
      w.unref(); // an idle pool never keeps the process alive
      w.on("error", () => (this.broken = true));
      w.on("exit", () => (this.broken = true));
      this.workers.push(w);
    }
  }

  start(jobs: readonly SignatureJob[]): PendingVerdicts {
    if (this.broken || jobs.length === 0) {
      const verdicts = verifyInline(jobs);
      return { wait: () => verdicts };
    }
    const per = Math.ceil(jobs.length / this.workers.length);
    const parts: { from: number; verdicts: Int32Array }[] = [];
    this.workers.forEach((w, k) => {
      const slice = jobs.slice(k * per, (k + 1) * per);
      if (slice.length === 0) return;
      const buf = new Uint8Array(slice.length * JOB_BYTES);
      slice.forEach((j, i) => {
        buf.set(j.publicKey, i * JOB_BYTES);
        buf.set(j.id, i * JOB_BYTES + 32);
        buf.set(j.signature, i * JOB_BYTES + 64);
      });
      const verdicts = new Int32Array(new SharedArrayBuffer(4 * (slice.length + 1)));
      const req: VerifyRequest = { jobs: buf.buffer, count: slice.length, verdicts: verdicts.buffer as SharedArrayBuffer };
      w.postMessage(req, [buf.buffer]);
      parts.push({ from: k * per, verdicts });
    });
    return {
      wait: () => {
        const out = new Array<boolean>(jobs.length);
        for (const p of parts) {
          const deadline = Date.now() + WORKER_TIMEOUT_MS;
          while (Atomics.load(p.verdicts, 0) === 0 && Date.now() < deadline) Atomics.wait(p.verdicts, 0, 0, 100);
          const n = p.verdicts.length - 1;
          for (let i = 0; i < n; i++) {
            const v = Atomics.load(p.verdicts, 1 + i);
            const job = jobs[p.from + i] as SignatureJob;
            out[p.from + i] = v === 0 ? verifyInline([job])[0] === true : v === 1;
          }
        }
        return out;
      },
    };
  }
}

let shared: VerifyPool | null | undefined;

/**
 * The process-wide pool (one worker per spare core), started on first use;
 * null on a single core, where inline verification is as fast.
 */
export function sharedVerifyPool(): VerifyPool | null {
  if (shared === undefined) {
    const spare = availableParallelism() - 1;
    try {
      shared = spare >= 1 ? new WorkerPool(spare) : null;
    } catch {
      shared = null;
    }
  }
  return shared;
}
