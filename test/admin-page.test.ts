/**
 * The admin page in a real browser (Debian's headless Chromium through
 * playwright-core) against a real site: its Kobo double polled, and a radio
 * link to a second site over the simulated LoRa air on the real clock, so
 * airtime, RSSI/SNR, stations heard and their lag are live. The page must
 * show them, update by itself, raise the banner when the form server fails,
 * say when the site cannot be reached, never run a record's text as code,
 * and fetch nothing from elsewhere. Screenshots go to the OS temp dir.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { generateSigner, sha256 } from "../src/engine/crypto.js";
import { recordId, recordType } from "../src/engine/ids.js";
import { seededRandom } from "../src/engine/random.js";
import { BLOB_CHUNK_BYTES, BLOB_PREFIX_BYTES } from "../src/engine/sync/blob-messages.js";
import { encodeMessage } from "../src/engine/sync/messages.js";
import { createApi } from "../src/http/api.js";
import { listenHttp, type HttpServer } from "../src/http/server.js";
import { silentLogger } from "../src/log/logger.js";
import { realClock } from "../src/radio/clock.js";
import { createLoRaMedium } from "../src/radio/lora-medium.js";
import { createSimLink } from "../src/radio/sim-link.js";
import { rnodeSettingsOf, type LinkFactory } from "../src/service/site-radio.js";
import { peersOf } from "../src/service/site-status.js";
import { HTTP_TOKEN, startServiceSite, type ServiceSite } from "./support/service-site.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = join(tmpdir(), "meshlogd-admin-page");
/** Longest wait for the page or the radio to get somewhere; a pass takes a fraction of it. */
const WAIT_MS = 10_000;
/**
 * SF7 at 250 kHz (the widest channel the band holds) keeps frames short (tens
 * of ms), and the EU 869.4–869.65 MHz sub-band's 10 % rule lets two sites
 * converge in seconds of real time (the sync paces itself at the duty rate,
 * so under 1 % they would take minutes).
 */
const fastRadio = (name: string) => ({ kind: "rnode", port: `sim:${name}`, frequency: 869_525_000, bandwidth: 250_000, spreading_factor: 7, coding_rate: 5, region: "eu-869.4-869.65" });

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = performance.now() + WAIT_MS;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`gave up waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits until the page shows what the locator finds (Playwright re-checks it
 * as the page changes). Locators, not waitForFunction: the page's CSP forbids
 * the string evaluation that would need.
 */
function shows(what: string, locator: Locator): Promise<void> {
  return locator.waitFor({ timeout: WAIT_MS }).catch((err: unknown) => {
    throw new Error(`the page never showed ${what}: ${String(err)}`);
  });
}

/** The photos of the attachments section: one held at base-camp, one its records name and no site holds (so it stays wanted). */
const HELD_PHOTO = Buffer.alloc(3_000, 7);
const WANTED_PHOTO = Buffer.alloc(1_000, 9);

/**
 * Base-camp (policy transfer) holds one photo and wants another that a record
 * names; the wanted one's first chunk is heard and kept, and a chunk of a file
 * no record names is heard and not wanted.
 */
function holdAndWantPhotos(s: ServiceSite, withHeld: string, withWanted: string): void {
  const store = s.site.store;
  store.blobs.put(HELD_PHOTO, "image/jpeg");
  for (const [record, bytes] of [[withHeld, HELD_PHOTO], [withWanted, WANTED_PHOTO]] as const) {
    store.append({ kind: "attachment", record: recordId(record), type: recordType("household"), field: "photo", hash: sha256(bytes), size: bytes.length, mime: "image/jpeg" });
  }
  const node = s.site.radios[0]!.node;
  const chunk = { type: "blob-chunk" as const, prefix: sha256(WANTED_PHOTO).subarray(0, BLOB_PREFIX_BYTES), index: 0, bytes: WANTED_PHOTO.subarray(0, BLOB_CHUNK_BYTES) };
  node.receive(encodeMessage(chunk));
  const stranger = Buffer.alloc(500, 3);
  node.receive(encodeMessage({ ...chunk, prefix: sha256(stranger).subarray(0, BLOB_PREFIX_BYTES), bytes: stranger.subarray(0, BLOB_CHUNK_BYTES) }));
}

describe("admin page in headless Chromium", () => {
  let a: ServiceSite;
  let b: ServiceSite;
  let http: HttpServer | null = null;
  let browser: Browser;
  let page: Page;
  let base: string;
  const requests: string[] = [];
  const problems: string[] = [];

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the admin page test needs Chromium; install it with \`apt-get install chromium\` (or set CHROMIUM_PATH)`);
    const clock = realClock();
    const medium = createLoRaMedium({ clock, random: seededRandom(7) });
    const makeLink: LinkFactory = (config, index) => {
      if (config.kind !== "rnode") throw new Error("this test links sites by simulated radio only");
      return createSimLink({ medium, id: config.port, settings: rnodeSettingsOf(config), clock, random: seededRandom(100 + index + config.port.length) });
    };
    const signerA = generateSigner().signer;
    const signerB = generateSigner().signer;
    a = await startServiceSite({
      name: "base-camp", signer: signerA, clock, makeLink, links: [fastRadio("base-camp")], members: [{ name: "hill-clinic", key: signerB.author }],
      attachments: { policy: "transfer", max_bytes: 4096 },
    });
    b = await startServiceSite({ name: "hill-clinic", signer: signerB, clock, makeLink, links: [fastRadio("hill-clinic")], members: [{ name: "base-camp", key: signerA.author }] });
    const amina = a.submit("north", "Amina");
    const baraka = a.submit("south", "Baraka");
    b.submit("hills", "Chiamaka");
    await a.site.pollNow();
    await b.site.pollNow();
    await until("both sites hold the same events", () => a.site.store.digest().equals(b.site.store.digest()));
    await until("base-camp has heard hill-clinic by name", () => peersOf(a.site).some((p) => p.name === "hill-clinic"));
    holdAndWantPhotos(a, amina, baraka);

    http = await listenHttp(createApi({ site: a.site, log: silentLogger, token: HTTP_TOKEN }), "127.0.0.1", 0);
    base = http.url;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("request", (r) => void requests.push(r.url()));
    page.on("pageerror", (e) => void problems.push(`page error: ${e.message}`));
    page.on("console", (m) => void (m.type() === "error" && problems.push(`console: ${m.text()}`)));
    mkdirSync(SHOTS, { recursive: true });
    await page.goto(`${base}?refresh=1`);
  });

  after(async () => {
    await browser?.close();
    await http?.close();
    await a?.close();
    await b?.close();
  });

  it("shows the site, its form's records, the other site heard and the airtime chart", async () => {
    await shows("the site's name", page.locator("#site-name", { hasText: /^base-camp$/ }));
    assert.match(await page.locator("#site-meta").innerText(), /test-net/);
    // Two records polled here and one that came by radio from hill-clinic.
    await shows("3 household records", page.locator('[data-count="household"]', { hasText: /^3$/ }));
    const peer = page.locator("#peers tr", { has: page.locator('[data-peer="hill-clinic"]') });
    await peer.waitFor({ timeout: WAIT_MS });
    assert.match(await peer.innerText(), /-?\d+ dBm/);
    assert.match(await peer.innerText(), /just now|\b\d+ s ago/, "last heard on the wall clock, not the radio's monotonic one");
    const chart = page.locator('#radio svg[data-chart="airtime"]');
    await chart.waitFor({ timeout: WAIT_MS });
    assert.ok((await chart.locator("rect.minute-bar").count()) > 0, "the minutes this site sent in have bars");
    assert.ok(Number(await page.locator('#radio [role="meter"]').getAttribute("aria-valuenow")) > 0, "the gauge shows airtime used");
    assert.match(await page.locator("#radio").innerText(), /of 6 min used/, "the EU 10 % budget: 6 minutes an hour");
    assert.match(await page.locator("#convergence").innerText(), /hill-clinic/);
    assert.equal(await page.locator("#attention").isHidden(), true, "no banner while all is well");
  });

  it("shows the attachment bytes the radio moves: held, wanted, part-way received, and the chunk traffic", async () => {
    const blobs = page.locator('#radio [data-blobs="0"]');
    await shows("the attachments section", blobs);
    const text = await blobs.innerText();
    assert.match(text, /Held at this site\s+1\s+3\.0 kB/, text);
    assert.match(text, /Wanted, not held yet\s+1\s+1\.0 kB/, text);
    assert.match(text, new RegExp(`Part-way received\\s+1\\s+${BLOB_CHUNK_BYTES} B of 1\\.0 kB`), text);
    assert.match(text, new RegExp(`${BLOB_CHUNK_BYTES} B of 1\\.0 kB wanted received so far`), text);
    assert.match(text, /2 chunks received: 1 kept, 1 not wanted here, 0 already held, 0 bad\. 0 files completed/, text);
    // The same numbers as the API's.
    const radio = (await (await fetch(`${base}api/radio`)).json()) as { links: { blobs: { held: { count: number; bytes: number }; partial: { received: number } } }[] };
    assert.deepEqual(radio.links[0]!.blobs.held, { count: 1, bytes: HELD_PHOTO.length });
    assert.equal(radio.links[0]!.blobs.partial.received, BLOB_CHUNK_BYTES);
  });

  it("updates by itself after a new submission is polled in, showing its text as text", async () => {
    const id = a.submit("west", `<img src=x onerror="window.__xss=1">`);
    await a.site.pollNow();
    await shows("4 household records", page.locator('[data-count="household"]', { hasText: /^4$/ }));
    await shows("the new record in recent changes", page.locator(`#recent [data-record="${id}"]`));
    assert.match(await page.locator("#recent").innerText(), /<img src=x onerror="window.__xss=1">/);
    assert.equal(await page.locator("main img").count(), 0, "no element was made from a record's text");
    assert.equal(await page.evaluate("typeof window.__xss"), "undefined", "a record's text never ran");

    await page.locator(`#recent [data-record="${id}"]`).click();
    const dialog = page.locator("#record-dialog");
    await shows("the record's answers", dialog.locator("#record-body th", { hasText: "hh/head_name" }));
    assert.match(await dialog.innerText(), /<img src=x onerror/);
    assert.match(await dialog.innerText(), /History/);
    const updated = await page.locator("#conn-text").innerText();
    await shows("a later refresh", page.locator("#conn-text").filter({ hasNotText: updated }));
    assert.equal(await dialog.getAttribute("open"), "", "an open record stays open across refreshes");
    await page.screenshot({ path: join(SHOTS, "record.png") });
    await page.locator("#record-close").click();
  });

  it("looks right on a laptop and on a phone (screenshots)", async (t) => {
    await page.screenshot({ path: join(SHOTS, "laptop.png"), fullPage: true });
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    await phone.goto(base);
    await shows("the peers on a phone", phone.locator('[data-peer="hill-clinic"]'));
    await phone.screenshot({ path: join(SHOTS, "phone.png"), fullPage: true });
    const overflow = Number(await phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"));
    await phone.close();
    assert.ok(overflow <= 0, `the page fits a phone's width (it overflows by ${overflow}px)`);
    t.diagnostic(`screenshots in ${SHOTS}`);
  });

  it("raises the banner when the form server cannot be reached", async () => {
    await a.kobo.stop();
    await a.site.pollNow();
    const banner = page.locator("#attention");
    await shows("the attention banner", banner);
    assert.match(await banner.innerText(), /Polling .* fails/);
    assert.match((await banner.getAttribute("class")) ?? "", /banner-bad/);
    assert.match(await page.locator("#forms").innerText(), /Polling fails/);
    await banner.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, "attention.png") });
  });

  it("fetched nothing from elsewhere, and ran without errors", () => {
    assert.ok(requests.length > 0);
    assert.deepEqual(requests.filter((u) => !u.startsWith(base)), []);
    assert.deepEqual(problems, []);
  });

  it("says so when the site cannot be reached", async () => {
    await http?.close();
    http = null;
    await shows("the cannot-reach state", page.locator("#offline"));
    assert.match(await page.locator("#offline").innerText(), /Cannot reach the site/);
    assert.match(await page.locator("#conn-text").innerText(), /Not reachable/);
    await page.locator("#offline").scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, "offline.png") });
  });
});
