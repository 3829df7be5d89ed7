/**
 * `meshlogd` with no config: the embedded default. Starts three simulated
 * sites, says where to look, prints how far they have converged, and stops
 * on Ctrl-C — or, with --exit-when-converged, by itself once every site's
 * server holds the same records (the test mode).
 */
import { startEmbeddedDemo } from "../demo/embedded-demo.js";
import { DEFAULT_HTTP_PORT } from "../service/site-config.js";
import { numberOption, parseArgs } from "./options.js";
import { untilSignal } from "./run-command.js";

/** How often the terminal hears how far the sites are. */
const SUMMARY_EVERY_MS = 10_000;
/** In the test mode, give up after this much simulated time (a day of radio). */
const TEST_MODE_LIMIT_SIM_MS = 24 * 3_600_000;

export async function embeddedCommand(args: readonly string[], out: (line: string) => void = (l) => void process.stdout.write(`${l}\n`)): Promise<number> {
  const { options, flags } = parseArgs(args, ["speed", "port", "seed", "submissions"], ["exit-when-converged"]);
  const speed = numberOption(options, "speed", 0.1, 10_000) ?? 1;
  const testMode = flags.has("exit-when-converged");
  const perSite = numberOption(options, "submissions", 0, 1000) ?? (testMode ? 3 : 2);
  out("meshlogd embedded demo: three sites on simulated LoRa radios, each with its own KoboToolbox-compatible server.");
  out("team-north and team-south cannot hear each other; base-camp, between them, relays.");
  const demo = await startEmbeddedDemo({
    speed, basePort: numberOption(options, "port", 0, 65_533) ?? DEFAULT_HTTP_PORT, seed: numberOption(options, "seed", 0, 2 ** 31) ?? 7,
    initialPerSite: perSite, arrivals: !testMode, out,
  });
  out("");
  out("Open the admin pages:");
  for (const s of demo.sites) out(`  ${s.name.padEnd(11)} ${s.running.http.url}`);
  out("");
  out(`Radio at ${speed === 1 ? "real airtime" : `${speed}× real time`}; new submissions ${testMode ? "only at the start" : "keep arriving at the teams"}. ${testMode ? "" : "Ctrl-C stops."}`);
  const expected = perSite * 2;
  const ticker = setInterval(() => out(demo.summary()), SUMMARY_EVERY_MS);
  try {
    if (!testMode) {
      await untilSignal();
      return 0;
    }
    const deadline = Date.now() + TEST_MODE_LIMIT_SIM_MS / speed;
    while (!demo.converged(expected)) {
      if (Date.now() > deadline) {
        out(`not converged within ${TEST_MODE_LIMIT_SIM_MS / 3_600_000} h of simulated time: ${demo.summary()}`);
        return 1;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    out(`converged: ${demo.summary()}`);
    return 0;
  } finally {
    clearInterval(ticker);
    await demo.stop();
    out("stopped.");
  }
}
