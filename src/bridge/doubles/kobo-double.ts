/**
 * An in-process KoboToolbox server: the kpi API v2 (assets, data) and the
 * OpenRosa `/submission` endpoint over real HTTP, built from the checked
 * fact sheet (shared/facts/kobotoolbox-api.md) and kpi's source. Tests and
 * the demo ("embedded Kobo-compatible form server") talk to it exactly as to
 * a kpi server; the local* methods play the enumerators.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { FaultInjector } from "./faults.js";
import { jsonContext } from "./kobo-data-api.js";
import { buildInstanceXml, KoboDoubleError } from "./kobo-form.js";
import { addUuidPrefix, submissionJson, type KoboSubmissionJson } from "./kobo-instance.js";
import { createPipeline } from "./kobo-server.js";
import { KoboStore, parseKpiDate, type AssetRecord, type KoboAssetDef, type ReceiveOutcome, type UploadedFile } from "./kobo-submissions.js";

export { KoboDoubleError } from "./kobo-form.js";
export type { KoboAssetDef, UploadedFile } from "./kobo-submissions.js";
export type { KoboSubmissionJson } from "./kobo-instance.js";

export interface KoboDoubleOptions {
  /** The API token the double accepts (`Authorization: Token <token>`). */
  token: string;
  /** The token's user: `_submitted_by` of what the bridge submits. Default "bridge". */
  username?: string;
  /**
   * kpi's MAX_API_PAGE_SIZE. Default 1000. A request without `limit` still
   * gets kpi's default 100 rows, with next/previous links paged by this maximum
   * when it is lower (kpi's own behaviour under that setting).
   */
  maxPageSize?: number;
  now?: () => Date;
}

export interface LocalSubmitOptions {
  /** The instanceID; "uuid:" is added when it has no prefix. Default a new `uuid:<v4>`. */
  instanceId?: string;
  /** `_submission_time` ("YYYY-MM-DDTHH:MM:SS", UTC unless a zone is given). Default the double's clock. */
  submissionTime?: string;
  /** Files sent with the XML; each must be named by an upload answer to be listed. */
  files?: readonly UploadedFile[];
  /** `_submitted_by`. Default the token's user. */
  submittedBy?: string;
}

export interface KoboDouble {
  /** Listens on 127.0.0.1 (port 0: any free port) and returns the base URL, e.g. "http://127.0.0.1:41234". */
  start(port?: number): Promise<string>;
  /** Closes the server and every open connection. */
  stop(): Promise<void>;
  /** The base URL; empty before start(). */
  readonly url: string;
  readonly faults: FaultInjector;
  addAsset(def: KoboAssetDef): void;
  /**
   * An enumerator's new submission, as KoboCollect or Enketo would send it:
   * `answers` maps full paths to values (a repeat's path to an array of
   * objects keyed by full paths). Returns the stored submission's JSON.
   */
  submitLocal(assetUid: string, answers: Record<string, unknown>, opts?: LocalSubmitOptions): KoboSubmissionJson;
  /**
   * A human edit in Enketo: `patch` (path → value, null removes; a repeat is
   * replaced whole) merged into the current answers, sent as an OpenRosa
   * edit (new instanceID, deprecatedID = the current one, rootUuid kept).
   */
  editLocal(assetUid: string, id: number, patch: Record<string, unknown>, files?: readonly UploadedFile[]): KoboSubmissionJson;
  /**
   * KoboCollect sending media after the XML: the current version's exact XML
   * again with `files` (kpi adds the new attachments to the instance instead
   * of answering 202). Throws if kpi would refuse it.
   */
  resendLocal(assetUid: string, id: number, files: readonly UploadedFile[]): KoboSubmissionJson;
  /** The files kpi lists for a submission (not soft-deleted): basename → bytes. */
  attachmentsOf(assetUid: string, id: number): Map<string, Uint8Array>;
  deleteLocal(assetUid: string, id: number): void;
  /** Every current submission of an asset, as the data API returns it, in `_id` order. */
  submissions(assetUid: string): KoboSubmissionJson[];
  /** The stored XML of a submission's current version. */
  submissionXml(assetUid: string, id: number): string;
  /** Every request answered: method, path without query, status. Connections a fault dropped are not listed. */
  readonly requests: { method: string; path: string; status: number }[];
  /** From now on every token is refused (401 "Invalid token."). */
  revokeToken(): void;
  setToken(token: string): void;
}

const DEFAULT_USERNAME = "bridge";
/** kpi's MAX_API_PAGE_SIZE default. */
const DEFAULT_MAX_PAGE_SIZE = 1000;
/** The XForm `version` attribute clients copy into submissions: one deployment, on the fact sheet's date. */
const DEPLOYED_VERSION_LABEL = "1 (2026-11-21 08:00:00)";
/** Keys of the data JSON that are envelope or server metadata, not answers. */
const NON_ANSWER_KEY = /^(_|formhub\/|meta\/|__version__$)/;
/** Creates a stopped double with no assets. */
export function createKoboDouble(options: KoboDoubleOptions): KoboDouble {
  return new KoboDoubleServer(options);
}

class KoboDoubleServer implements KoboDouble {
  readonly faults = new FaultInjector();
  readonly requests: { method: string; path: string; status: number }[] = [];
  private readonly store: KoboStore;
  private readonly username: string;
  private readonly maxPageSize: number;
  private readonly now: () => Date;
  private token: string | null;
  private server: Server | null = null;
  private baseUrl = "";

  constructor(options: KoboDoubleOptions) {
    this.username = options.username ?? DEFAULT_USERNAME;
    this.store = new KoboStore(this.username);
    this.maxPageSize = options.maxPageSize ?? DEFAULT_MAX_PAGE_SIZE;
    this.now = options.now ?? (() => new Date());
    this.token = options.token;
  }

  get url(): string {
    return this.baseUrl;
  }

  async start(port = 0): Promise<string> {
    if (this.server) return this.baseUrl;
    const pipeline = createPipeline({
      store: this.store,
      maxPageSize: this.maxPageSize,
      username: this.username,
      now: this.now,
      token: () => this.token,
      faults: this.faults,
      requests: this.requests,
      fallbackHost: () => this.baseUrl.slice("http://".length),
    });
    const server = createServer((req, res) => void pipeline(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  addAsset(def: KoboAssetDef): void {
    this.store.addAsset(def, this.now());
  }

  submitLocal(assetUid: string, answers: Record<string, unknown>, opts: LocalSubmitOptions = {}): KoboSubmissionJson {
    const asset = this.requireAsset(assetUid);
    const instanceId = opts.instanceId === undefined ? `uuid:${randomUUID()}` : addUuidPrefix(opts.instanceId);
    const xml = this.clientXml(asset, answers, { instanceId });
    const dateCreated = opts.submissionTime === undefined ? undefined : parseKpiDate(opts.submissionTime);
    if (dateCreated !== undefined && Number.isNaN(dateCreated.getTime())) throw new KoboDoubleError(`submissionTime "${opts.submissionTime}" is not a date`);
    const outcome = this.store.receive({ xml, files: opts.files ?? [], submittedBy: opts.submittedBy ?? this.username, now: this.now(), dateCreated });
    return this.storedJson(asset, outcome, `submitLocal(${assetUid})`);
  }

  editLocal(assetUid: string, id: number, patch: Record<string, unknown>, files: readonly UploadedFile[] = []): KoboSubmissionJson {
    const asset = this.requireAsset(assetUid);
    const inst = this.store.instance(assetUid, id);
    if (!inst) throw new KoboDoubleError(`editLocal: asset ${assetUid} has no submission ${id}`);
    const current = submissionJson(inst, jsonContext(asset, this.localOrigin()));
    const answers = Object.fromEntries(Object.entries(current).filter(([k]) => !NON_ANSWER_KEY.test(k)));
    for (const [path, value] of Object.entries(patch)) {
      if (value === null) delete answers[path];
      else answers[path] = value;
    }
    const deprecatedId = typeof current["meta/instanceID"] === "string" ? current["meta/instanceID"] : addUuidPrefix(inst.uuid);
    const xml = this.clientXml(asset, answers, { instanceId: `uuid:${randomUUID()}`, deprecatedId, rootUuid: addUuidPrefix(inst.rootUuid) });
    const outcome = this.store.receive({ xml, files, submittedBy: this.username, now: this.now() });
    return this.storedJson(asset, outcome, `editLocal(${assetUid}, ${id})`);
  }

  resendLocal(assetUid: string, id: number, files: readonly UploadedFile[]): KoboSubmissionJson {
    const asset = this.requireAsset(assetUid);
    const inst = this.store.instance(assetUid, id);
    if (!inst) throw new KoboDoubleError(`resendLocal: asset ${assetUid} has no submission ${id}`);
    const outcome = this.store.receive({ xml: inst.xml, files, submittedBy: this.username, now: this.now() });
    return this.storedJson(asset, outcome, `resendLocal(${assetUid}, ${id})`);
  }

  attachmentsOf(assetUid: string, id: number): Map<string, Uint8Array> {
    const inst = this.store.instance(assetUid, id);
    if (!inst) throw new KoboDoubleError(`attachmentsOf: asset ${assetUid} has no submission ${id}`);
    return new Map(inst.attachments.filter((a) => !a.deleted).map((a) => [a.basename, a.bytes]));
  }

  deleteLocal(assetUid: string, id: number): void {
    if (!this.store.delete(assetUid, id)) throw new KoboDoubleError(`deleteLocal: asset ${assetUid} has no submission ${id}`);
  }

  submissions(assetUid: string): KoboSubmissionJson[] {
    const asset = this.requireAsset(assetUid);
    const ctx = jsonContext(asset, this.localOrigin());
    return this.store.instancesOf(assetUid).map((i) => submissionJson(i, ctx));
  }

  submissionXml(assetUid: string, id: number): string {
    const inst = this.store.instance(assetUid, id);
    if (!inst) throw new KoboDoubleError(`submissionXml: asset ${assetUid} has no submission ${id}`);
    return inst.xml;
  }

  revokeToken(): void {
    this.token = null;
  }

  setToken(token: string): void {
    this.token = token;
  }

  private requireAsset(uid: string): AssetRecord {
    const asset = this.store.asset(uid);
    if (!asset) throw new KoboDoubleError(`the Kobo double has no asset ${uid}; call addAsset first`);
    return asset;
  }

  private localOrigin(): string {
    return this.baseUrl || "http://127.0.0.1";
  }

  private clientXml(asset: AssetRecord, answers: Record<string, unknown>, meta: { instanceId: string; deprecatedId?: string; rootUuid?: string }): string {
    const { def, form } = asset;
    return buildInstanceXml(form, answers, {
      assetUid: def.uid,
      versionLabel: DEPLOYED_VERSION_LABEL,
      formhubUuid: def.deploymentUuid,
      versionId: def.deployedVersionId,
      now: this.now(),
      ...meta,
    });
  }

  private storedJson(asset: AssetRecord, outcome: ReceiveOutcome, what: string): KoboSubmissionJson {
    if (outcome.kind !== "stored") {
      const why = outcome.kind === "rejected" ? `${outcome.status} ${outcome.message}` : outcome.kind;
      throw new KoboDoubleError(`${what} was refused: ${why}`);
    }
    return submissionJson(outcome.instance, jsonContext(asset, this.localOrigin()));
  }
}
