/**
 * Upstream faults at the site level: two `meshlogd run` processes (one on a
 * KoboToolbox double, one on an ODK Central double, UDP between them) while
 * the servers misbehave — down at start-up, down mid-run, too slow (the
 * request timeout is 2 s here; one write is done at once and answered too
 * late), 5xx, malformed JSON and XML, a revoked token, a Central password
 * changed by an admin,
 * a person's edit racing our write (410 at Kobo). The bridge's own fault
 * tests (test/bridge-faults.test.ts) cover the write logic in virtual time;
 * these check what a site's operator sees: /api/status `server` and
 * `attention` name the fault while it lasts and clear once it is gone, and
 * afterwards nothing is lost and no server holds a record twice.
 *
 * Outages here last seconds, not hours: the waits that grow with an outage
 * are capped (SERVER_RETRY_MAX_MS for opening, RETRY_MAX_MS for writes), so
 * a longer outage only delays recovery by up to those caps.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { waitFor } from "../support/site-process.js";
import { recordHardening } from "./ledger.js";
import { serverRecords } from "./support/field-workload.js";
import { KOBO_UID, makeProcessWorld, type ProcessWorld } from "./support/process-sites.js";
import { retryOutbox, siteStatus, waitConverged, type SiteStatus } from "./support/site-api.js";
import { ODK_USER } from "../support/bridge-sites.js";
import { spawnSite, type SiteChild } from "../support/site-child.js";

/** Long enough for a write retried after the first back-off (5 s ± 20 %) and a radio round trip. */
const CONVERGE_MS = 60_000;
const NEW_TOKEN = "fedcba9876543210fedcba9876543210fedcba98";
const NEW_PASSWORD = "a new passphrase set by the Central admin";

describe("hardening: upstream faults at the site", () => {
  let w: ProcessWorld;
  const sites: [SiteChild | null, SiteChild | null] = [null, null];
  const urls: string[] = ["", ""];
  let n = 0;

  const start = async (i: 0 | 1, env: Record<string, string> = {}): Promise<void> => {
    const child = spawnSite(w.sites[i].configFile, { env: { ...w.env, ...env } });
    sites[i] = child;
    urls[i] = (await child.ready) ?? assert.fail(`${w.sites[i].name} did not start:\n${child.lines.join("\n")}`);
  };
  const stop = async (i: 0 | 1): Promise<void> => {
    sites[i]?.process.kill("SIGTERM");
    const exit = await sites[i]?.exit;
    assert.equal(exit?.code, 0, `${w.sites[i].name} did not stop cleanly`);
    sites[i] = null;
  };
  const submitAt = (i: 0 | 1): string => {
    const answers = { village: "north", "hh/head_name": `Upstream ${++n}`, "hh/size": "4", visit_date: "2026-11-20" };
    return i === 0 ? String(w.kobo.submitLocal(KOBO_UID, answers)["meta/rootUuid"]) : w.odk.submitLocal(w.project, w.form, answers);
  };
  /** Waits until site i's status satisfies `check`; returns that status. */
  const statusWhen = async (i: 0 | 1, what: string, check: (s: SiteStatus) => boolean, ms = 30_000): Promise<SiteStatus> => {
    let seen: SiteStatus | undefined;
    await waitFor(what, async () => check((seen = await siteStatus(urls[i]!))), ms).catch((e: Error) => assert.fail(`${e.message}: ${JSON.stringify(seen)}`));
    return seen!;
  };
  const attentionMatching = (re: RegExp) => (s: SiteStatus) => s.attention.some((a) => re.test(a));
  const heldEverywhere = (ids: readonly string[]) => {
    for (const i of [0, 1] as const) {
      const s = serverRecords(w, i);
      assert.equal(s.count, s.records.size, `no record twice at ${w.sites[i].name}'s server`);
      for (const id of ids) assert.ok(s.records.has(id), `${id} reached ${w.sites[i].name}'s server`);
    }
  };
  /** Waits until site i has finished `n` more poll rounds (its form's lastPollAt moved n times). */
  const pollRoundsPass = async (i: 0 | 1, n: number): Promise<void> => {
    const seen = new Set<string | null>([(await siteStatus(urls[i]!)).forms[0]?.lastPollAt ?? null]);
    await waitFor(`${n} more poll rounds at ${w.sites[i].name}`, async () => seen.add((await siteStatus(urls[i]!)).forms[0]?.lastPollAt ?? null).size > n);
  };
  /** Runs a scenario and records it in the ledger, as failed if it throws. */
  const scenario = async (tried: string, held: string, body: () => Promise<void>): Promise<void> => {
    try {
      await body();
    } catch (err) {
      recordHardening({ area: "upstream faults", tried, held: `FAILED: ${String(err).slice(0, 200)}`, ok: false });
      throw err;
    }
    recordHardening({ area: "upstream faults", tried, held, ok: true });
  };

  before(async () => {
    w = await makeProcessWorld({ requestTimeoutS: 2 });
  });
  after(async () => {
    for (const s of sites) s?.process.kill("SIGKILL");
    await Promise.all(sites.map((s) => s?.exit));
    await w.close();
  });

  it("a server down when the site starts: status says it cannot be reached, and the site opens once it answers", () =>
    scenario("ODK Central resetting every connection while both sites start; 4 submissions meanwhile",
      "server.state unreachable with the socket error, in attention; opened on its own once Central answered; all 4 at both servers once",
      async () => {
        w.faults(1).set({ kind: "down" });
        await Promise.all([start(0), start(1)]);
        const st = await statusWhen(1, "the Central site to report its server unreachable", (s) => s.server.state === "unreachable");
        assert.match(st.server.error ?? "", /ECONNRESET|socket|closed|other side/i);
        assert.ok(attentionMatching(/^The form server cannot be reached: /)(st), JSON.stringify(st.attention));
        const ids = [submitAt(0), submitAt(0), submitAt(1), submitAt(1)];
        w.faults(1).clear();
        await waitConverged(w, urls, CONVERGE_MS);
        assert.equal((await siteStatus(urls[1]!)).server.state, "ok");
        heldEverywhere(ids);
      }));

  it("a server that goes down mid-run: polls and writes fail visibly, and everything lands once it is back", () =>
    scenario("KoboToolbox resetting every connection mid-run while 2 records arrive from Central for it",
      "attention names the failing poll and write; outbox holds them as failed; once Kobo answered: written once, attention empty",
      async () => {
        w.faults(0).set({ kind: "down" });
        const ids = [submitAt(1), submitAt(1)];
        const st = await statusWhen(0, "the Kobo site to report failing polls and writes",
          (s) => attentionMatching(/^Polling .* fails: /)(s) && attentionMatching(/^Writing to .* fails: /)(s) && s.outbox.failed > 0);
        assert.ok(st.forms[0]?.lastPollError, "the form's poll error is set");
        w.faults(0).clear();
        await waitConverged(w, urls, CONVERGE_MS);
        heldEverywhere(ids);
      }));

  it("a server slower than the request timeout: the timeout is named, and a write the server did before answering late is not made twice", () =>
    scenario("Central answering polls after 3 s (timeout 2 s); then storing a create at once but answering it after 3 s",
      "attention says no answer within 2000 ms for the polls, the log for the write; the write the server had done is recognised (one submission, one version); attention empty after",
      async () => {
        w.faults(1).set({ kind: "slow", delayMs: 3_000 }, { count: 2, match: (m, p) => m === "GET" && p.includes(".svc/Submissions") });
        await statusWhen(1, "the Central site to report a poll timeout", attentionMatching(/^Polling .* fails: .*no answer within 2000 ms/));
        w.faults(1).set({ kind: "late-answer", delayMs: 3_000 }, { count: 1, match: (m, p) => m === "POST" && p.endsWith("/submissions") });
        const id = submitAt(0);
        // The next round's poll recognises the write as landed within a second, and the status clears with it: the log keeps the failure.
        const timedOut = () => sites[1]!.logged("warn").some((l) => l.msg === "writes failed; will retry" && /no answer within 2000 ms/.test(String(l.error)));
        await waitFor("the Central site to log the write timeout", timedOut);
        assert.ok(serverRecords(w, 1).records.has(id), "Central had stored the write it answered too late");
        await waitConverged(w, urls, CONVERGE_MS);
        heldEverywhere([id]);
        assert.equal(w.odk.faults.applied["late-answer"], 1);
        assert.equal(w.odk.submissions(w.project, w.form).find((s) => s.instanceId === id)?.versions, 1, "no second version of it");
      }));

  it("5xx, malformed JSON and malformed XML are named in the status and recovered from", () =>
    scenario("Kobo answering polls 503 twice, then garbage JSON twice; Central answering a write 502 and the submission XML an edit needs with garbage",
      "attention shows HTTP 503, 'not JSON', HTTP 502 and the XML error in turn; each clears by itself; the edit and the record land once",
      async () => {
        const koboPoll = (m: string, p: string) => m === "GET" && p.includes("/data");
        w.faults(0).set({ kind: "status", status: 503 }, { count: 2, match: koboPoll });
        await statusWhen(0, "the Kobo site to report a 503", attentionMatching(/^Polling .* fails: HTTP 503/));
        w.faults(0).set({ kind: "garbage" }, { count: 2, match: koboPoll });
        await statusWhen(0, "the Kobo site to report garbage JSON", attentionMatching(/^Polling .* fails: .*not JSON/));
        await waitConverged(w, urls, CONVERGE_MS);

        w.faults(1).set({ kind: "status", status: 502 }, { count: 1, match: (m, p) => m === "POST" && p.endsWith("/submissions") });
        const id = submitAt(0);
        await statusWhen(1, "the Central site to report a 502 on a write", attentionMatching(/^Writing to .* fails: HTTP 502/));
        await waitConverged(w, urls, CONVERGE_MS);

        w.faults(1).set({ kind: "garbage" }, { count: 1, match: (m, p) => m === "GET" && p.endsWith(".xml") });
        const row = w.kobo.submissions(KOBO_UID).find((r) => r["meta/rootUuid"] === id)!;
        w.kobo.editLocal(KOBO_UID, row._id as number, { "hh/size": "8" });
        await statusWhen(1, "the Central site to report the malformed XML", attentionMatching(/^Writing to .* fails: .*XML/));
        await waitConverged(w, urls, CONVERGE_MS);
        heldEverywhere([id]);
        assert.equal(serverRecords(w, 1).records.get(id)?.get("hh/size"), 8, "the edit reached Central");
      }));

  it("a revoked token: polls and writes say so; a restart with the new token writes what waited", () =>
    scenario("Kobo's API token replaced while a record from Central waits to be written; retry pressed with the old token; site restarted with the new one",
      "attention shows HTTP 401 for polls and 'check the credentials' for writes; a retry with the old token fails again (nothing lost); after the restart the waiting write lands at once, attention empty",
      async () => {
        w.kobo.setToken(NEW_TOKEN);
        const id = submitAt(1);
        await statusWhen(0, "the Kobo site to report the credentials",
          (s) => attentionMatching(/^Polling .* fails: HTTP 401/)(s) && attentionMatching(/check the credentials/)(s) && s.outbox.failed === 1);
        assert.ok(await retryOutbox(urls[0]!) >= 1, "the retry button makes the failed write due");
        await statusWhen(0, "the retried write to fail again", (s) => s.outbox.failed === 1 && attentionMatching(/check the credentials/)(s));
        await stop(0);
        await start(0, { KOBO_TOKEN: NEW_TOKEN });
        // The write waits out a 15-minute pause after a 401; the restart must try it at once.
        await waitConverged(w, urls, CONVERGE_MS);
        heldEverywhere([id]);
      }));

  it("a Central password changed while the site runs: the refused login is named and not retried per poll or write; a restart with the new password writes what waited", () =>
    scenario("an admin changes the ODK Central user's password (ending its sessions) while a record from Kobo waits to be written and one is submitted at Central; 5 more poll rounds; retry pressed with the old password; site restarted with the new one",
      "attention says Central refused the login of the user and to check server.email and server.password in the config, for polls and writes; one refused POST /v1/sessions in all (none per poll round or retried write); both records kept; after the restart one login, the write lands at once, both servers converge",
      async () => {
        const logins = () => w.odk.requests.filter((r) => r.method === "POST" && r.path === "/v1/sessions").map((r) => r.status);
        const from = logins().length;
        w.odk.setPassword(ODK_USER.email, NEW_PASSWORD);
        const ids = [submitAt(0), submitAt(1)];
        const refused = /^(Polling|Writing to) .* fails: HTTP 401: ODK Central refused the login of bridge@example\.test .*check server\.email and server\.password in the config/;
        await statusWhen(1, "the Central site to report the refused login for polls and writes",
          (s) => s.attention.filter((a) => refused.test(a)).length === 2 && s.outbox.failed === 1);
        await pollRoundsPass(1, 5);
        assert.ok(await retryOutbox(urls[1]!) >= 1, "the retry button makes the failed write due");
        await statusWhen(1, "the retried write to fail again", (s) => s.outbox.failed === 1 && attentionMatching(refused)(s));
        // The refusal is kept for AUTH_PAUSE_MS (15 min, far longer than this scenario): one login, however many polls and writes.
        assert.deepEqual(logins().slice(from), [401], "one refused login while the site ran with the old password");
        await stop(1);
        await start(1, { ODK_PASSWORD: NEW_PASSWORD });
        await waitConverged(w, urls, CONVERGE_MS);
        heldEverywhere(ids);
        assert.deepEqual(logins().slice(from), [401, 200], "the restarted site logged in once with the new password");
      }));

  it("a person's edit racing our edit at Kobo (410): theirs is read in, ours is made again on top, nothing is lost", () =>
    scenario("an enumerator edits a Kobo submission the moment the site's edit of it arrives (410 Gone for the stale deprecatedID)",
      "the 410 is not retried blindly: the person's edit is polled in and reaches Central, our edit is re-planned and lands; one submission per record at both servers",
      async () => {
        const id = submitAt(1);
        await waitConverged(w, urls, CONVERGE_MS);
        w.kobo.faults.set({ kind: "slow", delayMs: 0 }, {
          count: 1,
          match: (m, p) => {
            if (m !== "POST" || p !== "/submission") return false;
            const row = w.kobo.submissions(KOBO_UID).find((r) => r["meta/rootUuid"] === id)!;
            w.kobo.editLocal(KOBO_UID, row._id as number, { notes: "changed at Kobo" });
            return true;
          },
        });
        w.odk.editLocal(w.project, w.form, id, { "hh/size": "7" });
        await waitConverged(w, urls, CONVERGE_MS);
        assert.ok(w.kobo.requests.some((r) => r.method === "POST" && r.path === "/submission" && r.status === 410), "Kobo answered 410");
        for (const i of [0, 1] as const) {
          const rec = serverRecords(w, i).records.get(id);
          assert.equal(rec?.get("hh/size"), 7, `Central's edit at ${w.sites[i].name}'s server`);
          assert.equal(rec?.get("notes"), "changed at Kobo", `Kobo's edit at ${w.sites[i].name}'s server`);
        }
        heldEverywhere([id]);
      }));
});
