/**
 * Why a bundle was refused, and what the user reads: what happened, which
 * file, and what to do. Refusals are values (import and verify never throw
 * for a bad bundle); the CLI prints `message`, the HTTP API returns it.
 */
import type { AuthorId } from "../engine/ids.js";
import { BUNDLE_FORMAT_VERSION } from "./bundle-format.js";

/**
 * - unreadable: the file is missing or unreadable, or an upload broke off
 * - not-a-bundle, unsupported-version, truncated, damaged: the layout is wrong
 * - bad-signature: the bytes are not what the exporter signed (altered or damaged)
 * - foreign-network: exported by a site of another network (by name)
 * - non-member: signed by a site that is not a member here
 * - no-key / wrong-key: sealed, and this site has no key or another key
 * - malformed-content: signed, but the exporter wrote chunks that do not parse
 * - changed-while-importing: the file's bytes changed between the check and the ingest
 */
export type BundleProblem =
  | "unreadable"
  | "not-a-bundle"
  | "unsupported-version"
  | "truncated"
  | "damaged"
  | "bad-signature"
  | "foreign-network"
  | "non-member"
  | "no-key"
  | "wrong-key"
  | "malformed-content"
  | "changed-while-importing";

/** What a message may mention besides the file's name. */
export interface ProblemContext {
  readonly name: string;
  /** Where reading stopped, and what was found there (layout problems). */
  readonly at?: number;
  readonly detail?: string;
  readonly exporter?: AuthorId;
  readonly bundleNetwork?: string | null;
  readonly siteNetwork?: string | null;
  /** Set when the problem came up in the ingest pass: the events handled until then (kept, each verified by the store). */
  readonly imported?: number;
}

/** The first hex digits of an author key: enough to tell the members of a network apart in a message. */
export function shortAuthor(author: AuthorId): string {
  return author.slice(0, 16);
}

const AGAIN = "copy it again from the exporting site, or export a new one there";

/** The user-facing message for `problem`. Always ends with what to do. */
export function problemMessage(problem: BundleProblem, c: ProblemContext): string {
  const who = c.exporter ? shortAuthor(c.exporter) : "its exporter";
  const where = c.at === undefined ? "" : ` at byte ${c.at}`;
  const detail = c.detail ? ` (${c.detail})` : "";
  const prefix =
    c.imported === undefined
      ? `${c.name}: nothing was imported:`
      : `${c.name}: import stopped after ${c.imported} new events (they are kept: the store verified each one):`;
  switch (problem) {
    case "unreadable":
      return `${prefix} it cannot be read${detail}; check the path and that the stick is mounted, then try again`;
    case "not-a-bundle":
      return `${prefix} it is not a meshlogd bundle${detail}; pick the file written by \`meshlogd export\``;
    case "unsupported-version":
      return `${prefix} it is a newer bundle${detail} than this meshlogd reads (format ${BUNDLE_FORMAT_VERSION}); upgrade meshlogd at this site`;
    case "truncated":
      return `${prefix} the file ends too early${where}${detail}: the copy is incomplete (was the stick removed before the copy finished?); ${AGAIN}`;
    case "damaged":
      return `${prefix} the file is damaged${where}${detail}; ${AGAIN}`;
    case "bad-signature":
      return `${prefix} its contents do not match the signature of ${who}: the file was altered or damaged after export; ${AGAIN}`;
    case "foreign-network":
      return `${prefix} it comes from network "${c.bundleNetwork ?? ""}" and this site belongs to "${c.siteNetwork ?? ""}"; import it at a site of that network`;
    case "non-member":
      return `${prefix} it was exported and signed by ${c.exporter ?? "an unknown site"}, which is not a member of this network; if that site belongs to it, add its key to the members in the config first`;
    case "no-key":
      return `${prefix} it is sealed with a network key and this site has none configured; set the network key (the same one the exporting site uses) and import again`;
    case "wrong-key":
      return `${prefix} it is sealed with a different network key than this site's; check that both sites configure the same network key`;
    case "malformed-content":
      return `${prefix} it is signed by ${who} but its contents do not parse${detail}: the exporting site wrote a faulty bundle; export a new one there (and report this)`;
    case "changed-while-importing":
      return `${prefix} the file changed while it was being imported${detail}; import it again from a copy nobody writes to`;
  }
}
