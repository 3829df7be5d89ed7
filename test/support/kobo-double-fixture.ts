/**
 * Shared set-up for the Kobo double's tests: the household asset from
 * test/fixtures, a started double per suite, authenticated fetch helpers, and
 * submission XML written by hand the way a bridge would send it.
 */
import { readFileSync } from "node:fs";
import { after, before } from "node:test";
import { createKoboDouble, type KoboAssetDef, type KoboDouble, type KoboDoubleOptions } from "../../src/bridge/doubles/kobo-double.js";

export const TOKEN = "8a1f2c3d4e5f60718293a4b5c6d7e8f901234567";
/** The double's clock: fixed, so no assertion depends on when the test runs. */
export const NOW = new Date("2026-11-21T09:30:00Z");

interface AssetFixture {
  uid: string;
  name: string;
  content: unknown;
  deployment__uuid: string;
  deployed_version_id: string;
}

/** An asset from test/fixtures (kpi's asset JSON) as the double's definition. */
function loadAsset(file: string): KoboAssetDef {
  const fixture = JSON.parse(readFileSync(new URL(`../../../test/fixtures/${file}`, import.meta.url), "utf8")) as AssetFixture;
  return {
    uid: fixture.uid,
    name: fixture.name,
    content: fixture.content,
    deploymentUuid: fixture.deployment__uuid,
    deployedVersionId: fixture.deployed_version_id,
  };
}

export const HOUSEHOLD = loadAsset("kobo-household-asset.json");
/** A group holding a repeat holding a repeat with an image question. */
export const NESTED = loadAsset("kobo-nested-repeat-asset.json");

export const DATA = `/api/v2/assets/${HOUSEHOLD.uid}/data/`;

/** A double with the household asset, started before and stopped after the enclosing suite. */
export function useKoboDouble(options: Partial<KoboDoubleOptions> = {}, assets: KoboAssetDef[] = [HOUSEHOLD]): KoboDouble {
  const double = createKoboDouble({ token: TOKEN, now: () => NOW, ...options });
  for (const a of assets) double.addAsset(a);
  before(() => double.start(0));
  after(() => double.stop());
  return double;
}

export function auth(extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Token ${TOKEN}`, ...extra };
}

/** GET (or another method) with the token; `path` may be absolute, as next/previous links are. */
export function api(double: KoboDouble, path: string, init: RequestInit = {}): Promise<Response> {
  const url = path.startsWith("http") ? path : `${double.url}${path}`;
  return fetch(url, { ...init, headers: { ...auth(), ...(init.headers as Record<string, string> | undefined) } });
}

export async function apiJson<T = Record<string, unknown>>(double: KoboDouble, path: string): Promise<T> {
  const res = await api(double, path);
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** "?query=…&sort=…" with JSON-encoded values. */
export function qs(params: Record<string, unknown>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) p.set(k, typeof v === "string" ? v : JSON.stringify(v));
  return `?${p.toString()}`;
}

export interface Attachment {
  readonly name: string;
  readonly type: string;
  readonly bytes: Uint8Array;
}

/** POST /submission as KoboCollect does: multipart with `xml_submission_file` and one part per file. */
export function postSubmission(double: KoboDouble, xml: string, files: Attachment[] = [], headers: Record<string, string> = auth()): Promise<Response> {
  const form = new FormData();
  form.append("xml_submission_file", new Blob([xml], { type: "text/xml" }), "submission.xml");
  for (const f of files) form.append("media_file", new Blob([f.bytes], { type: f.type }), f.name);
  return fetch(`${double.url}/submission`, { method: "POST", body: form, headers });
}

export interface HouseholdXml {
  instanceId: string;
  deprecatedId?: string;
  rootUuid?: string;
  village?: string;
  size?: string;
  photo?: string;
  submissionDate?: string;
  formhubUuid?: string | null;
}

/** A household submission serialized by hand, the way a bridge writes one. */
export function householdXml(o: HouseholdXml): string {
  const uid = HOUSEHOLD.uid;
  const date = o.submissionDate === undefined ? "" : ` submissionDate="${o.submissionDate}"`;
  const formhub = o.formhubUuid === null ? "" : `<formhub><uuid>${o.formhubUuid ?? HOUSEHOLD.deploymentUuid}</uuid></formhub>`;
  const meta =
    `<instanceID>${o.instanceId}</instanceID>` +
    (o.deprecatedId === undefined ? "" : `<deprecatedID>${o.deprecatedId}</deprecatedID>`) +
    (o.rootUuid === undefined ? "" : `<rootUuid>${o.rootUuid}</rootUuid>`);
  return (
    `<${uid} id="${uid}" version="1 (2026-11-21 08:00:00)"${date}>${formhub}` +
    `<village>${o.village ?? "north"}</village><hh><head_name>Amina</head_name><size>${o.size ?? "4"}</size></hh>` +
    (o.photo === undefined ? "" : `<photo>${o.photo}</photo>`) +
    `<__version__>${HOUSEHOLD.deployedVersionId}</__version__><meta>${meta}</meta></${uid}>`
  );
}
