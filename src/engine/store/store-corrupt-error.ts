/**
 * The store file contradicts itself (a disk fault, or a file edited by hand).
 * Never caught inside meshlogd: continuing would spread damage to peers.
 */
export class StoreCorruptError extends Error {
  override readonly name = "StoreCorruptError";

  constructor(what: string) {
    super(
      `the store is damaged: ${what}. Stop meshlogd, move the data directory aside (keep it for diagnosis) ` +
        `and start again: the site re-syncs every feed, its own included, from its peers; or restore a backup`,
    );
  }
}
