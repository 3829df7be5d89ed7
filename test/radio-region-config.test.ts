/**
 * A radio link's frequency against its region: the whole channel (centre ±
 * half the bandwidth) must lie in the band of the region's duty-cycle rule,
 * or start-up fails with a message naming the key, the value, the band, the
 * centre frequencies that fit, and the fix. A region without a band (none)
 * and UDP links are not checked.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "../src/bridge/mapping-config.js";
import { DUTY_CYCLE_PRESETS } from "../src/radio/duty-cycle.js";
import { SUB_GHZ_BANDWIDTHS } from "../src/radio/rnode/settings.js";
import { parseSiteConfig } from "../src/service/site-config.js";

const config = (link: Record<string, unknown>) => ({
  site: { name: "base-camp" },
  network: { name: "net" },
  links: [{ kind: "rnode", port: "/dev/ttyUSB0", ...link }],
  server: { kind: "kobo", url: "http://kf.kobo.local", token: "t0k3n" },
  mappings: [{ type: "household", source: { kobo: { asset: "aBc" } } }],
});

function problems(link: Record<string, unknown>): string[] {
  try {
    parseSiteConfig(config(link), {});
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe("radio frequency and region", () => {
  it("a frequency outside the default region's band names the key, the value, the band, the range that fits and the fix", () => {
    const p = problems({ frequency: 915_000_000 });
    assert.equal(p.length, 1, p.join("\n"));
    const line = p[0]!;
    assert.match(line, /^links\[0\]\.frequency: 915000000 Hz is outside its region: /);
    assert.match(line, /links\[0\]\.region eu-868\.0-868\.6 \(the default\) covers 868000000\.\.868600000 Hz/);
    assert.match(line, /a 125 kHz channel needs its centre in 868062500\.\.868537500 Hz/);
    assert.match(line, /Use the centre frequency in Hz within that range, e\.g\. 868300000/);
    assert.match(line, /or none with links\[0\]\.duty_cycle where no preset applies \(e\.g\. US 902-928 MHz\)/);
    assert.match(line, /\(got 915000000\)$/);
  });

  it("a region given in the config is named as given, with its own band", () => {
    const [line, ...rest] = problems({ frequency: 868_100_000, region: "eu-869.4-869.65" });
    assert.deepEqual(rest, []);
    assert.match(line ?? "", /^links\[0\]\.frequency: 868100000 Hz is outside its region: links\[0\]\.region eu-869\.4-869\.65 covers 869400000\.\.869650000 Hz, /);
    assert.match(line ?? "", /centre in 869462500\.\.869587500 Hz.*e\.g\. 869525000/);
  });

  it("the whole channel must fit: a centre on the band's edge is refused, half a bandwidth inside is accepted", () => {
    assert.equal(problems({ frequency: 868_000_000 }).length, 1, "868.0 MHz at 125 kHz reaches down to 867.9375 MHz");
    assert.deepEqual(problems({ frequency: 868_062_500 }), []);
    assert.deepEqual(problems({ frequency: 868_537_500 }), []);
    assert.equal(problems({ frequency: 868_537_501 }).length, 1);
    assert.equal(problems({ frequency: 868_100_000, bandwidth: 250_000 }).length, 1, "868.1 MHz fits at 125 kHz, not at 250 kHz");
  });

  it("a channel wider than the band names the bandwidth and the widest that fits", () => {
    const p = problems({ frequency: 869_525_000, bandwidth: 500_000, region: "eu-869.4-869.65" });
    assert.equal(p.length, 1, p.join("\n"));
    assert.match(p[0]!, /^links\[0\]\.bandwidth: a 500 kHz channel is wider than the band: .*covers 869400000\.\.869650000 Hz\. Use a bandwidth of at most 250 kHz, .*\(got 500000\)$/);
    assert.deepEqual(problems({ frequency: 869_525_000, bandwidth: 250_000, region: "eu-869.4-869.65" }), []);
  });

  it("the example each message suggests is accepted, for every region with a band and every bandwidth its band holds", () => {
    let checked = 0;
    for (const preset of DUTY_CYCLE_PRESETS.filter((p) => p.bandHz)) {
      const [from, to] = preset.bandHz!;
      for (const bandwidth of SUB_GHZ_BANDWIDTHS.filter((b) => b <= to - from)) {
        const wrong = problems({ frequency: to + 1_000_000, bandwidth, region: preset.name });
        const example = /e\.g\. (\d+)/.exec(wrong[0] ?? "")?.[1];
        assert.ok(example, `${preset.name} at ${bandwidth} Hz: ${wrong.join("\n")}`);
        assert.deepEqual(problems({ frequency: Number(example), bandwidth, region: preset.name }), [], `${preset.name} at ${bandwidth} Hz: ${example}`);
        checked += 1;
      }
    }
    assert.ok(checked >= DUTY_CYCLE_PRESETS.length - 1);
  });

  it("region none checks no band, and a UDP link has no frequency to check", () => {
    assert.deepEqual(problems({ frequency: 915_000_000, region: "none", duty_cycle: 0.1 }), []);
    const udp = { ...config({}), links: [{ kind: "udp", bind: "0.0.0.0:4242", peers: ["192.168.1.20:4242"] }] };
    assert.equal(parseSiteConfig(udp, {}).links[0]?.kind, "udp");
  });
});
