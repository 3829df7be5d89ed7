/**
 * Shared setup for the ODK Central double's tests: a double with the
 * household form (and the mesh-report form) published, a stepping clock
 * (one second per reading, so order never depends on the wall clock), and
 * a tiny fetch client that logs in like the bridge does.
 */
import { readFileSync } from "node:fs";
import { createOdkCentralDouble, type OdkCentralDouble } from "../../src/bridge/doubles/odk-central-double.js";

export const USER = { email: "bridge@example.test", password: "s3cret!pass" } as const;
export const DOMAIN = "http://central.local";

export const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url), "utf8");

/** A clock that moves one second forward at every reading. */
export function steppingClock(start = Date.parse("2026-11-21T08:00:00.000Z")): () => Date {
  let t = start;
  return () => new Date((t += 1000));
}

export interface Response {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON (undefined if it is not JSON). */
  readonly body: unknown;
}

/** A JSON object as read in assertions. */
export type Row = Record<string, unknown>;

/** Central's error body. */
export interface Problem {
  readonly message: string;
  readonly code: number;
  readonly details?: Row;
}

/** An OData collection response. */
export interface ODataPage {
  readonly value: Row[];
  readonly "@odata.context": string;
  readonly "@odata.nextLink"?: string;
  readonly "@odata.count"?: number;
}

export const asRow = (v: unknown): Row => v as Row;
export const asRows = (v: unknown): Row[] => v as Row[];
export const asPage = (r: Response): ODataPage => r.body as ODataPage;
export const asProblem = (r: Response): Problem => r.body as Problem;

export interface Site {
  readonly double: OdkCentralDouble;
  readonly url: string;
  readonly project: number;
  readonly household: string;
  readonly mesh: string;
  token: string;
  /** An authenticated request (Bearer) to a /v1 path or an absolute URL. */
  call(method: string, path: string, init?: { body?: string | Buffer; type?: string; headers?: Record<string, string> }): Promise<Response>;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  /** POST /v1/sessions; stores the token for later calls. */
  login(): Promise<Response>;
  /** A path under the household form ("…/forms/household_b" + suffix). */
  form(suffix: string, xmlFormId?: string): string;
  /** The OData nextLink with the configured domain swapped for the listening address, as the bridge does. */
  follow(nextLink: string): string;
}

export async function startSite(): Promise<Site> {
  const double = createOdkCentralDouble({ users: [USER], now: steppingClock() });
  const url = await double.start(0);
  const project = double.addProject("Household survey");
  const household = double.addForm(project, fixture("odk-household.xml"));
  const mesh = double.addForm(project, fixture("odk-mesh-report.xml"));
  const site: Site = {
    double, url, project, household, mesh, token: "",
    async call(method, path, init = {}) {
      const headers: Record<string, string> = { ...(site.token === "" ? {} : { authorization: `Bearer ${site.token}` }), ...init.headers };
      if (init.type !== undefined) headers["content-type"] = init.type;
      const res = await fetch(path.startsWith("http") ? path : `${url}${path}`, { method, headers, body: init.body, redirect: "manual" });
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status: res.status, headers: res.headers, text, body };
    },
    get: (path, headers) => site.call("GET", path, { headers }),
    async login() {
      const r = await site.call("POST", "/v1/sessions", { body: JSON.stringify(USER), type: "application/json" });
      if (r.status === 200) site.token = (r.body as { token: string }).token;
      return r;
    },
    form: (suffix, xmlFormId = household) => `/v1/projects/${project}/forms/${xmlFormId}${suffix}`,
    follow: (nextLink) => nextLink.replace(DOMAIN, url),
  };
  await site.login();
  return site;
}

/** Answers for one household, varied by `n`. */
export function household(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    village: n % 2 === 0 ? "north" : "south",
    "hh/head_name": `Head ${n}`,
    "hh/size": String(n + 1),
    "hh/income": `${n}50.25`,
    visit_date: "2026-11-19",
    needs: "water food",
    location: "-1.2921 36.8219 1650 5",
    members: [{ name: `Child ${n}`, age: "3", sex: "f" }, { name: `Adult ${n}`, age: "40" }],
    photo: "shelter.jpg",
    ...extra,
  };
}
