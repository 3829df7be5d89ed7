/**
 * Worker thread of the verify pool: checks Ed25519 signatures of events and
 * writes one verdict per job into shared memory, then wakes the waiting thread.
 */
import { parentPort } from "node:worker_threads";
import { verifySignature } from "../crypto.js";
import { signingMessage } from "../event.js";
import { JOB_BYTES, type VerifyRequest } from "./verify-protocol.js";

parentPort?.on("message", (req: VerifyRequest) => {
  const jobs = new Uint8Array(req.jobs);
  const verdicts = new Int32Array(req.verdicts);
  for (let i = 0; i < req.count; i++) {
    const o = i * JOB_BYTES;
    const ok = verifySignature(jobs.subarray(o, o + 32), signingMessage(jobs.subarray(o + 32, o + 64)), jobs.subarray(o + 64, o + 128));
    verdicts[1 + i] = ok ? 1 : 2;
  }
  Atomics.store(verdicts, 0, 1);
  Atomics.notify(verdicts, 0);
});
