/**
 * `/api/v2/assets/` of the Kobo double: the paginated asset list (with the
 * `q=field:value` search) and one asset's detail, limited to the serializer
 * fields a bridge reads (fact sheet §3).
 */
import { createHash } from "node:crypto";
import { jsonReply, pageLinks, type ApiRequest, type KoboReply } from "./kobo-http.js";
import { DEFAULT_PAGE_SIZE, positiveInt, type DataApiOptions } from "./kobo-data-api.js";
import type { AssetRecord } from "./kobo-submissions.js";

/** Search fields the double understands in `q`; a term on any other field matches nothing. */
const SEARCHABLE: Record<string, (a: AssetRecord) => string> = {
  asset_type: () => "survey",
  uid: (a) => a.def.uid,
  name: (a) => a.def.name,
  deployment_status: (a) => deploymentStatus(a),
};

/** DRF's datetime rendering: Python isoformat (microseconds only when non-zero) with "Z" for UTC. */
export function drfDateTime(d: Date): string {
  const iso = d.toISOString();
  const ms = iso.slice(20, 23);
  return ms === "000" ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 19)}.${ms}000Z`;
}

function deploymentStatus(a: AssetRecord): string {
  return a.def.active === false ? "archived" : "deployed";
}

/** GET /api/v2/assets/: invalid paging values fall back to the defaults, as DRF's paginator does. */
export function listAssets(opts: DataApiOptions, req: ApiRequest): KoboReply {
  const matching = opts.store.assets().filter(searchFilter(req.query.get("q") ?? ""));
  const limit = positiveInt(req.query.get("limit") ?? "", true, opts.maxPageSize) ?? DEFAULT_PAGE_SIZE;
  const start = positiveInt(req.query.get("start") ?? "", true) ?? 0;
  const results = matching.slice(start, start + limit).map((a) => assetSummary(opts, req, a));
  return jsonReply(200, { count: matching.length, ...pageLinks(req, matching.length, start, limit), results });
}

/** `q` as "field:value" terms joined by whitespace or AND, all of which must hold. */
function searchFilter(q: string): (a: AssetRecord) => boolean {
  const terms = q
    .split(/\s+(?:AND\s+)?/)
    .filter((t) => t !== "" && t !== "AND")
    .map((t) => {
      const colon = t.indexOf(":");
      return { field: colon < 0 ? "" : t.slice(0, colon), value: t.slice(colon + 1).replace(/^"(.*)"$/, "$1") };
    });
  return (a) => terms.every(({ field, value }) => SEARCHABLE[field]?.(a) === value);
}

/** GET /api/v2/assets/{uid}/. */
export function getAsset(opts: DataApiOptions, req: ApiRequest, asset: AssetRecord): KoboReply {
  return jsonReply(200, {
    ...assetSummary(opts, req, asset),
    deployed_versions: {
      count: 1,
      next: null,
      previous: null,
      results: [
        {
          uid: asset.def.deployedVersionId,
          url: `${req.origin}/api/v2/assets/${asset.def.uid}/versions/${asset.def.deployedVersionId}/`,
          content_hash: createHash("sha1").update(JSON.stringify(asset.def.content)).digest("hex"),
          date_deployed: drfDateTime(asset.dateCreated),
          date_modified: drfDateTime(asset.dateCreated),
        },
      ],
    },
    content: asset.def.content,
  });
}

function assetSummary(opts: DataApiOptions, req: ApiRequest, asset: AssetRecord): Record<string, unknown> {
  const instances = opts.store.instancesOf(asset.def.uid);
  const last = instances.reduce<Date | null>((max, i) => (max === null || i.dateCreated > max ? i.dateCreated : max), null);
  const settings = (asset.def.content as { settings?: unknown } | null)?.settings ?? {};
  return {
    url: `${req.origin}/api/v2/assets/${asset.def.uid}/`,
    owner: `${req.origin}/api/v2/users/${asset.owner}/`,
    owner__username: asset.owner,
    parent: null,
    settings,
    asset_type: "survey",
    date_created: drfDateTime(asset.dateCreated),
    date_modified: drfDateTime(asset.dateCreated),
    date_deployed: drfDateTime(asset.dateCreated),
    version_id: asset.def.deployedVersionId,
    has_deployment: true,
    deployed_version_id: asset.def.deployedVersionId,
    deployment__active: asset.def.active !== false,
    deployment__submission_count: instances.length,
    deployment__last_submission_time: last === null ? null : drfDateTime(last),
    deployment__encrypted: false,
    deployment__uuid: asset.def.deploymentUuid,
    deployment_status: deploymentStatus(asset),
    uid: asset.def.uid,
    kind: "asset",
    name: asset.def.name,
    data: `${req.origin}/api/v2/assets/${asset.def.uid}/data/`,
  };
}
