/**
 * The ODK Central client's session handling against the Central double, on a
 * clock the test moves: a login Central refuses (password changed, user
 * deleted) is kept for AUTH_PAUSE_MS instead of being asked again by every
 * call, and calls that need a session at the same time share one login.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { AUTH_PAUSE_MS } from "../src/bridge/constants.js";
import { createOdkCentralDouble, type OdkCentralDouble } from "../src/bridge/doubles/odk-central-double.js";
import { createOdkClient, type OdkClient } from "../src/bridge/odk-client.js";
import type { Result } from "../src/bridge/upstream.js";

const USER = { email: "bridge@example.test", password: "correct horse battery staple" };

let double: OdkCentralDouble;
let url: string;
let t: number;
let client: OdkClient;

before(async () => {
  double = createOdkCentralDouble({ users: [USER] });
  url = await double.start(0);
  double.addProject("Household survey");
});
after(async () => {
  await double.stop();
});
beforeEach(async () => {
  await client?.close();
  double.setPassword(USER.email, USER.password);
  t = Date.now();
  client = createOdkClient({ url, ...USER, timeoutMs: 5_000, now: () => t });
});

/** Statuses of the logins (POST /v1/sessions) the double has answered so far. */
const logins = (): number[] => double.requests.filter((r) => r.method === "POST" && r.path === "/v1/sessions").map((r) => r.status);
const authMessage = (r: Result<unknown>): string => (!r.ok && r.error.kind === "auth" ? r.error.message : assert.fail(`expected an auth failure, got ${JSON.stringify(r)}`));

describe("ODK Central client: sessions", () => {
  it("a refused login is answered to every call for AUTH_PAUSE_MS, then asked once more; a right password works again", async () => {
    assert.ok((await client.getProjects()).ok);
    const from = logins().length;
    double.setPassword(USER.email, "changed by an admin");
    const first = authMessage(await client.getProjects());
    assert.match(first, /^ODK Central refused the login of bridge@example\.test \(POST \/v1\/sessions: Could not authenticate with the provided credentials\.\)/);
    assert.match(first, /check server\.email and server\.password in the config .*restart meshlogd/);
    for (let i = 0; i < 5; i++) assert.equal(authMessage(await client.getForms(1)), first, "the same refusal, from memory");
    t += AUTH_PAUSE_MS - 1;
    authMessage(await client.getProjects());
    assert.deepEqual(logins().slice(from), [401], "no login asked within the pause");
    t += 1;
    authMessage(await client.getProjects());
    assert.deepEqual(logins().slice(from), [401, 401], "one login once the pause is over");
    double.setPassword(USER.email, USER.password);
    assert.ok(!(await client.getProjects()).ok, "still within the second pause");
    t += AUTH_PAUSE_MS;
    assert.ok((await client.getProjects()).ok, "the login works again after the pause");
    assert.ok((await client.getForms(1)).ok);
    assert.deepEqual(logins().slice(from), [401, 401, 200]);
  });

  it("calls that need a session at the same time share one login, also after the session ended", async () => {
    const from = logins().length;
    const calls = () => Promise.all(Array.from({ length: 4 }, () => client.getProjects()));
    assert.ok((await calls()).every((r) => r.ok));
    assert.deepEqual(logins().slice(from), [200], "one login for four first calls");
    double.expireSessions();
    assert.ok((await calls()).every((r) => r.ok));
    assert.deepEqual(logins().slice(from), [200, 200], "one login for four calls refused with the ended session");
  });

  it("a deleted user's refusal says so like a changed password, and is not asked again per call", async () => {
    const other = { email: "gone@example.test", password: "pw" };
    const d = createOdkCentralDouble({ users: [other] });
    const c = createOdkClient({ url: await d.start(0), ...other, timeoutMs: 5_000, now: () => t });
    try {
      assert.ok((await c.getProjects()).ok);
      d.deleteUser(other.email);
      for (let i = 0; i < 3; i++) assert.match(authMessage(await c.getProjects()), /refused the login of gone@example\.test .*user deleted/);
      assert.deepEqual(d.requests.filter((r) => r.path === "/v1/sessions").map((r) => r.status), [200, 401]);
    } finally {
      await c.close();
      await d.stop();
    }
  });
});
