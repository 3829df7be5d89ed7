/**
 * How the double tells who is calling, as central-backend's authHandler
 * (lib/http/preprocessors.js) does for the credentials a bridge could send:
 * a Bearer session token, Basic (HTTPS only), the session cookie (HTTPS
 * only). A token of a session that ended (expired, or deleted when the
 * user's password changed or the user was deleted) is 401.2 like any other.
 */
import type { OdkAuth, OdkRequest } from "./odk-http.js";
import { problems } from "./odk-problems.js";
import type { OdkStore } from "./odk-store.js";

/** Bearer first, then Basic (HTTPS only, per X-Forwarded-Proto), then the session cookie (HTTPS only); anything else is 401.2. */
export function authenticate(store: OdkStore, req: OdkRequest): OdkAuth {
  const header = req.headers.authorization;
  const https = req.headers["x-forwarded-proto"] === "https";
  if (header !== undefined && header !== "") {
    if (header.startsWith("Bearer ")) {
      const session = store.sessionFor(header.slice(7));
      if (session === undefined) throw problems.authenticationFailed();
      return { actor: session.actor, session };
    }
    if (header.startsWith("Basic ")) {
      if (!https) throw problems.httpsOnly();
      const m = /^([^:]+):(.+)$/.exec(Buffer.from(header.slice(6), "base64").toString("utf8"));
      const user = m === null ? undefined : store.users.find((u) => u.email === m[1] && u.password === m[2]);
      if (user === undefined) throw problems.authenticationFailed();
      return { actor: user.actor, session: null };
    }
    throw problems.authenticationFailed();
  }
  const cookie = req.headers.cookie;
  if (cookie !== undefined) {
    if (!https) throw problems.httpsOnly();
    const token = /(?:^|;\s*)session=([^;]*)/.exec(cookie)?.[1];
    const session = token === undefined ? undefined : store.sessionFor(decodeURIComponent(token));
    if (session === undefined) throw problems.authenticationFailed();
    return { actor: session.actor, session };
  }
  throw problems.authenticationFailed();
}
