/**
 * A full disk and a read-only data directory.
 *
 * With real processes: the Kobo site's data directory is a small tmpfs of
 * its own (support/private-mount.ts), the Central site runs beside it over
 * UDP. The disk is filled while people keep submitting at both servers, so
 * both polls and radio frames meet ENOSPC; then the space is freed. Later the
 * directory is made read-only and the site started on it. Needs user
 * namespaces; skipped (with the reason) where they are off.
 *
 * In process, everywhere: the same site code meets SQLITE_FULL and
 * SQLITE_READONLY through SQLite's own limits (max_page_count, query_only).
 *
 * In every case: the status says what is wrong and where, the process stays
 * up (or, at start-up, exits with a one-line reason), the database stays
 * intact, and once the disk takes writes again nothing is missing.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { recordId } from "../../src/engine/ids.js";
import { isAlive } from "../../src/engine/record-state.js";
import { openStore, type SqliteStore } from "../../src/engine/store/sqlite-store.js";
import { siteSummary } from "../../src/service/site-status.js";
import { startServiceSite } from "../support/service-site.js";
import { waitFor } from "../support/site-process.js";
import { checkStore, createEventVerifier } from "../support/store-checks.js";
import { recordHardening } from "./ledger.js";
import { serverRecords } from "./support/field-workload.js";
import { createPrivateMount, privateMountUnavailable, type PrivateMount } from "./support/private-mount.js";
import { KOBO_UID, makeProcessWorld, type ProcessWorld } from "./support/process-sites.js";
import { siteStatus, waitConverged, type SiteStatus } from "./support/site-api.js";
import { spawnSite, type SiteChild } from "../support/site-child.js";

/** Room for the database and its WAL (which grows to about 4 MB between checkpoints). */
const TMPFS_BYTES = 24 * 1024 * 1024;
const CONVERGE_MS = 60_000;
const FULL = /^The database cannot be written: the disk holding .*meshlogd\.sqlite is full \(SQLITE_FULL\)/;

/** Opens a database file, checks every invariant and SQLite's own integrity check; returns the live record ids. */
function checkDatabase(path: string, where: string): Set<string> {
  const store = openStore({ path });
  try {
    checkStore(store, createEventVerifier(), (m) => `${where}: ${m}`);
    assert.equal(store.db.pragma("integrity_check", { simple: true }), "ok", `${where}: SQLite integrity check`);
    return liveRecords(store);
  } finally {
    store.close();
  }
}

function liveRecords(store: SqliteStore): Set<string> {
  const rows = store.db.prepare("SELECT record_id AS id FROM records").all() as { id: string }[];
  return new Set(rows.map((r) => recordId(r.id)).filter((id) => isAlive(store.getRecord(id)!)));
}

const skipReason = privateMountUnavailable();

describe("hardening: a full disk and a read-only data directory, real processes", { skip: skipReason ?? false }, () => {
  let w: ProcessWorld;
  let disk: PrivateMount;
  const sites: [SiteChild | null, SiteChild | null] = [null, null];
  const urls = ["", ""];
  let n = 0;
  const submit = (i: 0 | 1) => {
    const answers = { village: "east", "hh/head_name": `Disk ${++n} ${"x".repeat(200)}`, "hh/size": "2", visit_date: "2026-11-20" };
    if (i === 0) w.kobo.submitLocal(KOBO_UID, answers);
    else w.odk.submitLocal(w.project, w.form, answers);
  };
  const submitBoth = () => {
    submit(0);
    submit(1);
  };
  const start = async (i: 0 | 1) => {
    const child = spawnSite(w.sites[i].configFile, { env: w.env, ...(i === 0 ? { prefix: disk.prefix } : {}) });
    sites[i] = child;
    urls[i] = (await child.ready) ?? assert.fail(`${w.sites[i].name} did not start:\n${child.lines.join("\n")}`);
    return child;
  };
  const stop = async (i: 0 | 1) => {
    sites[i]?.process.kill("SIGTERM");
    assert.equal((await sites[i]?.exit)?.code, 0, `${w.sites[i].name} stops cleanly`);
    sites[i] = null;
  };
  const db = () => disk.outside("meshlogd.sqlite");
  /**
   * A copy of the stopped site's database files, to open here: SQLite
   * resolves symlinks in a path, and /proc/<pid>/root would lead it to this
   * namespace's directory instead of the tmpfs.
   */
  const dbCopy = () => {
    const dir = mkdtempSync(join(w.root, "copy-"));
    for (const suffix of ["", "-wal", "-shm"]) if (existsSync(db() + suffix)) copyFileSync(db() + suffix, join(dir, `meshlogd.sqlite${suffix}`));
    return join(dir, "meshlogd.sqlite");
  };

  before(async () => {
    w = await makeProcessWorld();
    disk = await createPrivateMount(w.sites[0].dataDir, TMPFS_BYTES);
  });
  after(async () => {
    for (const s of sites) s?.process.kill("SIGKILL");
    await Promise.all(sites.map((s) => s?.exit));
    await disk?.close();
    await w?.close();
  });

  it("a disk that fills up while polls and radio frames arrive: named in the status, the site stays up, nothing lost once space returns", async () => {
    const tried = "the Kobo site's data disk (tmpfs) filled to the last block while 30 submissions arrived at each server (its polls and its radio frames meet ENOSPC), then freed";
    try {
      await Promise.all([start(0), start(1)]);
      for (let k = 0; k < 3; k++) submitBoth();
      await waitConverged(w, urls, CONVERGE_MS);
      const filled = disk.fill();
      let st: SiteStatus | undefined;
      const child = sites[0]!;
      const radioDropped = () => child.logged("error").some((l) => String(l.consequence).includes("radio"));
      await waitFor("the Kobo site to report the full disk for polls and radio frames", async () => {
        if (n < 66) submitBoth();
        st = await siteStatus(urls[0]!);
        return st.attention.some((a) => FULL.test(a)) && radioDropped();
      }, CONVERGE_MS).catch((e: Error) => assert.fail(`${e.message}: ${JSON.stringify(st?.attention)}\n${child.lines.slice(-5).join("\n")}`));
      assert.equal(child.process.exitCode, null, "the site is still running");
      assert.equal(st?.server.state, "ok", "the server state is about the server, not the disk");
      assert.ok(!child.lines.some((l) => l.startsWith("[stderr]")), `nothing on stderr:\n${child.lines.filter((l) => l.startsWith("[stderr]")).join("\n")}`);
      while (n < 66) submitBoth();
      disk.free();
      await waitConverged(w, urls, CONVERGE_MS);
      await stop(0);
      const live = checkDatabase(dbCopy(), "after the disk was full");
      const atKobo = [...serverRecords(w, 0).records.keys()].sort();
      assert.equal(atKobo.length, 66, "every submission reached Kobo once");
      assert.deepEqual([...live].sort(), atKobo, "the Kobo site's database holds every record");
      recordHardening({
        area: "crashes", tried: `${tried} (${(filled / 1e6).toFixed(1)} MB filler)`,
        held: "attention named the full disk and the file; the process stayed up (a radio frame no longer crashes it); once freed all 66 records at both servers once, database intact (chains, view = re-fold, integrity_check)", ok: true,
      });
    } catch (err) {
      recordHardening({ area: "crashes", tried, held: `FAILED: ${String(err).slice(0, 200)}`, ok: false });
      throw err;
    }
  });

  it("a read-only data directory: the site will not start and says why; made writable, it starts with everything there", async () => {
    const tried = "the Kobo site started on its data directory remounted read-only, then again after it was made writable";
    try {
      if (sites[0]) await stop(0);
      const hash = () => createHash("sha256").update(readFileSync(db())).digest("hex");
      const before = hash();
      disk.setReadOnly(true);
      const child = spawnSite(w.sites[0].configFile, { env: w.env, prefix: disk.prefix });
      assert.equal((await child.exit).code, 1, `the site exits with 1:\n${child.lines.join("\n")}`);
      const why = child.logged("error").find((l) => l.msg === "the site cannot start");
      assert.match(String(why?.reason), /meshlogd\.sqlite cannot be written \(EROFS\): the file system or the data directory is read-only/, child.lines.join("\n"));
      assert.ok(!child.lines.some((l) => l.startsWith("[stderr]")), `no stack trace:\n${child.lines.join("\n")}`);
      assert.equal(hash(), before, "the database file is unchanged");
      disk.setReadOnly(false);
      submit(1);
      await start(0);
      await waitConverged(w, urls, CONVERGE_MS);
      await stop(0);
      const live = checkDatabase(dbCopy(), "after the read-only start");
      assert.equal(live.size, serverRecords(w, 0).records.size, "every record is in the database");
      recordHardening({ area: "crashes", tried, held: `exit 1 with "${String(why?.reason).replace(/\/[^ ]*\//, ".../")}", no stack trace, database file byte-identical; writable again: started, converged, database intact`, ok: true });
    } catch (err) {
      recordHardening({ area: "crashes", tried, held: `FAILED: ${String(err).slice(0, 200)}`, ok: false });
      throw err;
    }
  });
});

describe("hardening: SQLITE_FULL and SQLITE_READONLY in a running site (in process)", () => {
  it("a refused write is named in the status, retried, and nothing is lost", async () => {
    const s = await startServiceSite();
    const tried = "a site's own database limited to its current size (SQLITE_FULL), then switched read-only (SQLITE_READONLY), while 40 submissions waited at Kobo";
    try {
      const attention = () => siteSummary(s.site).attention;
      for (let k = 0; k < 3; k++) s.submit("north", `Before ${k}`);
      await s.site.pollNow();
      const db = s.site.store.db;
      db.pragma(`max_page_count = ${db.pragma("page_count", { simple: true }) as number}`);
      for (let k = 0; k < 20; k++) s.submit("south", `Full ${k} ${"y".repeat(300)}`);
      await s.site.pollNow();
      assert.ok(attention().some((a) => FULL.test(a)), JSON.stringify(attention()));
      db.pragma("max_page_count = 1073741823");
      await s.site.pollNow();
      assert.deepEqual(attention(), [], "cleared once the poll commits");
      db.pragma("query_only = ON");
      for (let k = 0; k < 20; k++) s.submit("east", `Read-only ${k}`);
      await s.site.pollNow();
      assert.ok(attention().some((a) => /^The database cannot be written: .* cannot be written \(SQLITE_READONLY\): .*read-only/.test(a)), JSON.stringify(attention()));
      db.pragma("query_only = OFF");
      await s.site.pollNow();
      assert.deepEqual(attention(), []);
      checkStore(s.site.store, createEventVerifier(), (m) => `in process: ${m}`);
      assert.equal(liveRecords(s.site.store).size, 43, "every submission is a record");
      recordHardening({ area: "crashes", tried, held: "attention named each (disk full / read-only, with the file); the round was retried; all 43 records taken in once writes worked; chains and view intact", ok: true });
    } catch (err) {
      recordHardening({ area: "crashes", tried, held: `FAILED: ${String(err).slice(0, 200)}`, ok: false });
      throw err;
    } finally {
      await s.close();
    }
  });
});
