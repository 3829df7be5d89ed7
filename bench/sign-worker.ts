/**
 * Worker thread: signs the feeds of some authors of a workload (the plan is
 * regenerated identically in every worker) and posts back their encoded
 * batches and signature-check inputs.
 */
import { parentPort, workerData } from "node:worker_threads";
import { signedBatches, VerifyCollector, type EncodedBatch, type VerifyInputs } from "./feeds.js";
import { benchSigners, type WorkloadOptions } from "./fixtures.js";

/** What a sign worker is given. */
export interface SignJob {
  readonly workload: WorkloadOptions;
  /** Authors (indices into benchSigners(workload.authors)) this worker signs for. */
  readonly authors: readonly number[];
  readonly batchSize: number;
}

/** What a sign worker posts back, once. */
export interface SignResult {
  readonly batches: EncodedBatch[];
  readonly verify: VerifyInputs;
}

function isSignJob(v: unknown): v is SignJob {
  const j = v as Partial<SignJob> | null;
  return typeof j === "object" && j !== null && Array.isArray(j.authors) && typeof j.batchSize === "number" && typeof j.workload === "object";
}

if (parentPort && isSignJob(workerData)) {
  const job = workerData;
  const collector = new VerifyCollector();
  const signers = benchSigners(job.workload.authors);
  const batches = [...signedBatches(job.workload, signers, job.batchSize, new Set(job.authors), collector.sink)];
  const result: SignResult = { batches, verify: collector.result() };
  parentPort.postMessage(result);
}
