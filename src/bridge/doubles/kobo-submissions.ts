/**
 * The Kobo double's storage and kpi's OpenRosa ingest rules
 * (`logger_tools.create_instance`, fact sheet §5): form resolution, the
 * mandatory instanceID, byte-identical duplicates (202), rootUuid conflicts
 * (409), edits through `deprecatedID` (201 / 410 / 404), inactive forms (405)
 * and attachments. Outcomes are values; the HTTP layer renders them.
 */
import { createHash, randomBytes } from "node:crypto";
import { XmlError, childElements, textOf, type XmlElement } from "../xml.js";
import { readKoboForm, type KoboForm } from "./kobo-form.js";
import { instanceUuidOf, metaValue, parseInstanceXml, removeUuidPrefix, type AttachmentView, type InstanceView } from "./kobo-instance.js";

/** A form as the double serves it. `uid` is also the XForm id_string and the instance root's name. */
export interface KoboAssetDef {
  uid: string;
  name: string;
  /** kpi asset content: `{survey, choices, settings}`. */
  content: unknown;
  /** The XForm uuid clients put in `formhub/uuid`. */
  deploymentUuid: string;
  /** The version uid new submissions carry in `__version__`. */
  deployedVersionId: string;
  /** False: the form is archived and submissions get 405. Default true. */
  active?: boolean;
  /** Owner username; byte-identical duplicates are detected across all of an owner's forms. */
  owner?: string;
}

export interface AssetRecord {
  readonly def: KoboAssetDef;
  readonly form: KoboForm;
  readonly owner: string;
  readonly dateCreated: Date;
}

export interface AttachmentRecord extends AttachmentView {
  readonly bytes: Uint8Array;
  readonly sha1: string;
  deleted: boolean;
}

export interface InstanceRecord extends InstanceView {
  readonly assetUid: string;
  xml: string;
  xmlHash: string;
  uuid: string;
  dateModified: Date;
  readonly attachments: AttachmentRecord[];
}

/** A file part of a multipart submission. */
export interface UploadedFile {
  readonly name: string;
  readonly type: string;
  readonly bytes: Uint8Array;
}

export interface ReceiveInput {
  readonly xml: string;
  readonly files: readonly UploadedFile[];
  readonly submittedBy: string;
  readonly now: Date;
  /** kpi's date_created_override: wins over the root's submissionDate attribute. */
  readonly dateCreated?: Date;
}

export type ReceiveOutcome =
  /** 201: new submission, edit applied, or a duplicate that brought new attachments. */
  | { readonly kind: "stored"; readonly how: "created" | "edited" | "attachments-added"; readonly instance: InstanceRecord; readonly asset: AssetRecord }
  /** kpi's OpenRosa error (202 for a duplicate): status and the message it puts in the OpenRosaResponse. */
  | { readonly kind: "rejected"; readonly status: number; readonly message: string }
  /** The form cannot be resolved: kpi raises Http404, rendered as DRF's `{"detail": "Not found."}`. */
  | { readonly kind: "form-not-found" }
  /** An exception kpi does not handle (an unparseable submissionDate): a bare 500. */
  | { readonly kind: "server-error" };

const MSG = {
  invalidChars: "Submission rejected: the form contains unsupported or invisible characters.",
  badXml: "Improperly formatted XML.",
  noInstanceId: "Instance ID is required",
  duplicate: "Duplicate Instance",
  inactive: "Form is not active",
  conflict: "Submission with this instance ID already exists",
  attachmentConflict: "Attachment with same name already exists",
  deprecatedGone: "Invalid submission - deprecatedID refers to an old version",
  deprecatedMissing: "Invalid submission - deprecatedID not found",
  deprecatedAmbiguous: "Multiple submissions found with the same DeprecatedID",
} as const;

const FORMHUB_UUID = /<formhub>\s*<uuid>\s*([^<]+)\s*<\/uuid>\s*<\/formhub>/;
/** Files kpi never soft-deletes even when no question names them. */
const KEPT_UNREFERENCED = /(^audit\.csv$|\.enc$)/;
const UID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

type Rejected = Extract<ReceiveOutcome, { kind: "rejected" }>;
const reject = (status: number, message: string): Rejected => ({ kind: "rejected", status, message });

/** All assets, current submissions and superseded versions of one double. */
export class KoboStore {
  private readonly assetsByUid = new Map<string, AssetRecord>();
  private readonly instances = new Map<number, InstanceRecord>();
  /** Superseded versions (kpi's InstanceHistory): their instanceIDs make a stale deprecatedID 410. */
  private readonly history: { instanceId: number; assetUid: string; uuid: string; xml: string }[] = [];
  private nextInstanceId = 1;
  private nextAttachmentPk = 1;

  constructor(private readonly defaultOwner: string) {}

  addAsset(def: KoboAssetDef, now: Date): AssetRecord {
    const record = { def, form: readKoboForm(def.content, def.uid), owner: def.owner ?? this.defaultOwner, dateCreated: now };
    this.assetsByUid.set(def.uid, record);
    return record;
  }

  asset(uid: string): AssetRecord | undefined {
    return this.assetsByUid.get(uid);
  }

  assets(): AssetRecord[] {
    return [...this.assetsByUid.values()];
  }

  /** Current submissions of an asset in `_id` order. */
  instancesOf(assetUid: string): InstanceRecord[] {
    return [...this.instances.values()].filter((i) => i.assetUid === assetUid);
  }

  instance(assetUid: string, id: number): InstanceRecord | undefined {
    const found = this.instances.get(id);
    return found?.assetUid === assetUid ? found : undefined;
  }

  /** Hard delete; the superseded versions go with it. */
  delete(assetUid: string, id: number): boolean {
    if (!this.instance(assetUid, id)) return false;
    this.instances.delete(id);
    for (let i = this.history.length - 1; i >= 0; i--) if (this.history[i]!.instanceId === id) this.history.splice(i, 1);
    return true;
  }

  /** Applies one OpenRosa submission. */
  receive(input: ReceiveInput): ReceiveOutcome {
    if (hasInvalidXmlChar(input.xml)) return reject(400, MSG.invalidChars);
    const resolved = this.resolveForm(input.xml);
    if (resolved === "bad-xml") return reject(400, MSG.badXml);
    if (!resolved) return { kind: "form-not-found" };
    let root: XmlElement;
    try {
      root = parseInstanceXml(input.xml);
    } catch (e) {
      if (e instanceof XmlError) return reject(400, MSG.badXml);
      throw e;
    }
    const newUuid = instanceUuidOf(root);
    if (newUuid === undefined) return reject(400, MSG.noInstanceId);
    const xmlHash = createHash("sha256").update(input.xml).digest("hex");
    const duplicate = [...this.instances.values()].find((i) => i.xmlHash === xmlHash && this.assetsByUid.get(i.assetUid)?.owner === resolved.owner);
    if (duplicate) return this.receiveDuplicate(duplicate, input);
    const deprecated = metaValue(root, "deprecatedID");
    if (deprecated !== undefined) return this.receiveEdit(resolved, root, removeUuidPrefix(deprecated), { ...input, uuid: newUuid, xmlHash });
    return this.receiveNew(resolved, root, { ...input, uuid: newUuid, xmlHash });
  }

  private resolveForm(xml: string): AssetRecord | "bad-xml" | undefined {
    const formhubUuid = FORMHUB_UUID.exec(xml)?.[1];
    const byUuid = formhubUuid && this.assets().find((a) => a.def.deploymentUuid === formhubUuid);
    if (byUuid) return byUuid;
    try {
      const idString = parseInstanceXml(xml).attrs["id"];
      return idString === undefined ? undefined : this.assetsByUid.get(idString);
    } catch (e) {
      if (e instanceof XmlError) return "bad-xml";
      throw e;
    }
  }

  private receiveDuplicate(existing: InstanceRecord, input: ReceiveInput): ReceiveOutcome {
    const asset = this.assetsByUid.get(existing.assetUid)!;
    if (asset.def.active === false) return reject(405, MSG.inactive);
    const added = this.newAttachments(existing, input.files);
    if (!Array.isArray(added)) return added;
    if (added.length === 0) return reject(202, MSG.duplicate);
    this.commitAttachments(existing, added, asset.form);
    return { kind: "stored", how: "attachments-added", instance: existing, asset };
  }

  private receiveEdit(asset: AssetRecord, root: XmlElement, deprecated: string, input: ReceiveInput & { uuid: string; xmlHash: string }): ReceiveOutcome {
    const target = this.editTarget(asset, root, deprecated);
    if (!("id" in target)) return target;
    if (asset.def.active === false) return reject(405, MSG.inactive);
    const added = this.newAttachments(target, input.files);
    if (!Array.isArray(added)) return added;
    this.history.push({ instanceId: target.id, assetUid: asset.def.uid, uuid: target.uuid, xml: target.xml });
    Object.assign(target, { xml: input.xml, xmlHash: input.xmlHash, uuid: input.uuid, dateModified: input.now });
    this.commitAttachments(target, added, asset.form);
    return { kind: "stored", how: "edited", instance: target, asset };
  }

  private editTarget(asset: AssetRecord, root: XmlElement, deprecated: string): InstanceRecord | Rejected {
    const matches = this.instancesOf(asset.def.uid).filter((i) => i.uuid === deprecated);
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0) {
      const superseded = this.history.some((h) => h.assetUid === asset.def.uid && h.uuid === deprecated);
      return reject(superseded ? 410 : 404, superseded ? MSG.deprecatedGone : MSG.deprecatedMissing);
    }
    const rootUuid = metaValue(root, "rootUuid");
    const byRoot = rootUuid === undefined ? undefined : this.instancesOf(asset.def.uid).find((i) => i.rootUuid === removeUuidPrefix(rootUuid));
    return byRoot ?? reject(409, MSG.deprecatedAmbiguous);
  }

  private receiveNew(asset: AssetRecord, root: XmlElement, input: ReceiveInput & { uuid: string; xmlHash: string }): ReceiveOutcome {
    if (asset.def.active === false) return reject(405, MSG.inactive);
    const dateCreated = input.dateCreated ?? submissionDateOf(root) ?? input.now;
    if (Number.isNaN(dateCreated.getTime())) return { kind: "server-error" };
    const declaredRoot = metaValue(root, "rootUuid");
    const rootUuid = declaredRoot === undefined ? input.uuid : removeUuidPrefix(declaredRoot);
    if (this.instancesOf(asset.def.uid).some((i) => i.rootUuid === rootUuid)) return reject(409, MSG.conflict);
    const instance: InstanceRecord = {
      id: this.nextInstanceId,
      assetUid: asset.def.uid,
      xml: input.xml,
      xmlHash: input.xmlHash,
      uuid: input.uuid,
      rootUuid,
      dateCreated,
      dateModified: input.now,
      submittedBy: input.submittedBy,
      attachments: [],
    };
    const added = this.newAttachments(instance, input.files);
    if (!Array.isArray(added)) return added;
    this.nextInstanceId += 1;
    this.instances.set(instance.id, instance);
    this.commitAttachments(instance, added, asset.form);
    return { kind: "stored", how: "created", instance, asset };
  }

  /** Files not yet attached; a known name with other bytes is a 409 (kpi compares SHA-1). */
  private newAttachments(instance: InstanceRecord, files: readonly UploadedFile[]): AttachmentRecord[] | Rejected {
    const added: AttachmentRecord[] = [];
    for (const f of files) {
      const basename = f.name.split(/[\\/]/).pop() ?? f.name;
      const sha1 = createHash("sha1").update(f.bytes).digest("hex");
      const known = [...instance.attachments, ...added].find((a) => a.basename === basename);
      if (known && known.sha1 !== sha1) return reject(409, MSG.attachmentConflict);
      if (known) continue;
      const pk = this.nextAttachmentPk + added.length;
      added.push({ pk, uid: attachmentUid(), basename, mimetype: f.type || guessMimetype(basename), bytes: f.bytes, sha1, deleted: false });
    }
    return added;
  }

  /** Saves new files and soft-deletes every attachment the current XML no longer names. */
  private commitAttachments(instance: InstanceRecord, added: readonly AttachmentRecord[], form: KoboForm): void {
    this.nextAttachmentPk += added.length;
    instance.attachments.push(...added);
    const named = mediaFileNames(parseInstanceXml(instance.xml), form.mediaPaths);
    for (const a of instance.attachments) a.deleted = !named.has(a.basename) && !KEPT_UNREFERENCED.test(a.basename);
  }
}

/** The texts of every upload question in the instance, repeats included. */
function mediaFileNames(root: XmlElement, mediaPaths: ReadonlySet<string>): Set<string> {
  const names = new Set<string>();
  const walk = (el: XmlElement, path: string): void => {
    for (const child of childElements(el)) {
      const p = path === "" ? child.name : `${path}/${child.name}`;
      if (mediaPaths.has(p) && textOf(child) !== "") names.add(textOf(child));
      walk(child, p);
    }
  };
  walk(root, "");
  return names;
}

/** A date as kpi reads submissionDate (ISO 8601, a space allowed for "T"); no zone means UTC. Invalid Date when unparseable. */
export function parseKpiDate(value: string): Date {
  const raw = value.trim().replace(" ", "T");
  const naive = raw.includes("T") && !/(Z|[+-]\d{2}(:?\d{2})?)$/i.test(raw);
  return new Date(naive ? `${raw}Z` : raw);
}

function submissionDateOf(root: XmlElement): Date | undefined {
  const raw = root.attrs["submissionDate"];
  return raw === undefined || raw.trim() === "" ? undefined : parseKpiDate(raw);
}

/** Characters outside XML 1.0's Char production (kpi's validate_xml_chars). */
function hasInvalidXmlChar(xml: string): boolean {
  for (const ch of xml) {
    const c = ch.codePointAt(0)!;
    const allowed = c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000;
    if (!allowed) return true;
  }
  return false;
}

function attachmentUid(): string {
  return "att" + [...randomBytes(21)].map((b) => UID_ALPHABET[b % UID_ALPHABET.length]).join("");
}

const MIMETYPES: Record<string, string> = {
  jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", gif: "image/gif", webp: "image/webp",
  mp3: "audio/mpeg", m4a: "audio/mp4", amr: "audio/amr", ogg: "audio/ogg", wav: "audio/wav",
  mp4: "video/mp4", "3gp": "video/3gpp", pdf: "application/pdf", csv: "text/csv", txt: "text/plain",
};

function guessMimetype(basename: string): string {
  const ext = basename.includes(".") ? basename.split(".").pop()!.toLowerCase() : "";
  return MIMETYPES[ext] ?? "application/octet-stream";
}
