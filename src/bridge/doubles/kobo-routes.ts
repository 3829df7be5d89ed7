/**
 * The kpi API v2 URL table of the Kobo double (authenticated requests with
 * the trailing slash). A path no route matches gets Django's plain 404 page.
 */
import { getAsset, listAssets } from "./kobo-assets-api.js";
import { deleteSubmission, getAttachment, getSubmission, listData, type DataApiOptions } from "./kobo-data-api.js";
import { jsonReply, noRouteReply, NOT_FOUND, type ApiRequest, type KoboReply } from "./kobo-http.js";
import type { AssetRecord } from "./kobo-submissions.js";

type Handler = (opts: DataApiOptions, req: ApiRequest, asset: AssetRecord, params: readonly string[]) => KoboReply;

interface Route {
  /** Matched against the path after "/api/v2/assets/{uid}/"; groups become `params`. */
  readonly pattern: RegExp;
  readonly methods: Readonly<Record<string, Handler>>;
}

const SEGMENT = "([^/]+)";

const ASSET_ROUTES: readonly Route[] = [
  { pattern: /^$/, methods: { GET: (o, r, a) => getAsset(o, r, a) } },
  { pattern: /^data\/$/, methods: { GET: (o, r, a) => listData(o, r, a) } },
  { pattern: /^data\.(json|xml)\/?$/, methods: { GET: (o, r, a, [format]) => listData(o, r, a, format) } },
  {
    pattern: new RegExp(`^data/${SEGMENT}/$`),
    methods: { GET: (o, r, a, [id]) => getSubmission(o, r, a, id!), DELETE: (o, _r, a, [id]) => deleteSubmission(o, a, id!) },
  },
  {
    pattern: new RegExp(`^data/${SEGMENT}/attachments/${SEGMENT}/((original|large|medium|small)/)?$`),
    methods: { GET: (o, _r, a, [id, att]) => getAttachment(o, a, id!, att!) },
  },
];

/** Routes one authenticated /api/v2/ request. */
export function routeV2(opts: DataApiOptions, req: ApiRequest): KoboReply {
  if (req.path === "/api/v2/assets/") {
    return req.method === "GET" ? listAssets(opts, req) : methodNotAllowed(req.method);
  }
  const m = /^\/api\/v2\/assets\/([^/]+)\/(.*)$/.exec(req.path);
  if (!m) return noRouteReply(req.path);
  const rest = m[2]!;
  for (const route of ASSET_ROUTES) {
    const match = route.pattern.exec(rest);
    if (!match) continue;
    const handler = route.methods[req.method];
    if (!handler) return methodNotAllowed(req.method);
    const asset = opts.store.asset(decodeURIComponent(m[1]!));
    if (!asset) return jsonReply(404, NOT_FOUND);
    const params = match.slice(1).map((p) => (p === undefined ? "" : decodeURIComponent(p)));
    return handler(opts, req, asset, params);
  }
  return noRouteReply(req.path);
}

function methodNotAllowed(method: string): KoboReply {
  return jsonReply(405, { detail: `Method "${method}" not allowed.` });
}
