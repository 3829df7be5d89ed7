/**
 * Runs a form-server double in its own thread for the bridge benchmarks: a
 * real KoboToolbox or Central runs in its own process, so the bridge being
 * measured should not share its event loop with the server it polls.
 *
 * The parent posts a DoubleJob; the worker answers { url } once seeded, then
 * answers every { count } message with the server's submission count, and
 * stops on { stop }.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createKoboDouble } from "../src/bridge/doubles/kobo-double.js";
import { createOdkCentralDouble } from "../src/bridge/doubles/odk-central-double.js";
import { benchAnswers, koboBenchAsset, odkBenchXForm } from "./bridge-forms.js";

export type DoubleJob =
  | { readonly kind: "kobo"; readonly token: string; readonly assetUid: string; readonly submissions: number }
  | { readonly kind: "odk"; readonly user: { email: string; password: string }; readonly formId: string };

export type DoubleReady = { readonly url: string; readonly project?: number; readonly form?: string };

async function main(job: DoubleJob): Promise<void> {
  const port = parentPort!;
  if (job.kind === "kobo") {
    const kobo = createKoboDouble({ token: job.token });
    const url = await kobo.start(0);
    kobo.addAsset(koboBenchAsset(job.assetUid));
    for (let i = 0; i < job.submissions; i++) kobo.submitLocal(job.assetUid, benchAnswers(i));
    port.on("message", (m: { count?: true; stop?: true }) => {
      if (m.count) port.postMessage({ count: kobo.submissions(job.assetUid).length });
      if (m.stop) void kobo.stop().then(() => port.close());
    });
    port.postMessage({ url } satisfies DoubleReady);
  } else {
    const central = createOdkCentralDouble({ users: [job.user] });
    const url = await central.start(0);
    const project = central.addProject("Bench");
    const form = central.addForm(project, odkBenchXForm(job.formId));
    port.on("message", (m: { count?: true; stop?: true }) => {
      if (m.count) port.postMessage({ count: central.submissions(project, form).length });
      if (m.stop) void central.stop().then(() => port.close());
    });
    port.postMessage({ url, project, form } satisfies DoubleReady);
  }
}

if (parentPort && workerData) void main(workerData as DoubleJob);
