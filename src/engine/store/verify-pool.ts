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
import { JOB_BYTES, JOBS_DONE, VALID, workOn, type VerifyRequest } from "./verify-protocol.js";

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

const check = (publicKey: Uint8Array, id: Uint8Array, sig: Uint8Array) => verifySignature(publicKey, signingMessage(id), sig);

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
    const buf = new Uint8Array(new SharedArrayBuffer(jobs.length * JOB_BYTES));
    jobs.forEach((j, i) => {
      buf.set(j.publicKey, i * JOB_BYTES);
      buf.set(j.id, i * JOB_BYTES + 32);
      buf.set(j.signature, i * JOB_BYTES + 64);
    });
    const req: VerifyRequest = {
      jobs: buf.buffer as SharedArrayBuffer,
      count: jobs.length,
      control: new SharedArrayBuffer(8),
      verdicts: new SharedArrayBuffer(4 * jobs.length),
    };
    for (const w of this.workers) w.postMessage(req);
    return {
      wait: () => {
        workOn(req, check); // the waiting thread helps with whatever is left
        const control = new Int32Array(req.control);
        const deadline = Date.now() + WORKER_TIMEOUT_MS;
        for (let done = Atomics.load(control, JOBS_DONE); done < req.count && Date.now() < deadline; done = Atomics.load(control, JOBS_DONE)) {
          Atomics.wait(control, JOBS_DONE, done, 100);
        }
        const verdicts = new Int32Array(req.verdicts);
        return jobs.map((job, i) => {
          const v = Atomics.load(verdicts, i);
          // A job claimed by a worker that died before answering is checked here.
          return v === 0 ? verifyInline([job])[0] === true : v === VALID;
        });
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
