/**
 * The network's identity on air: a 2-byte id derived from its name (cheap
 * filtering of foreign traffic) and an optional 32-byte key shared by all its
 * sites (sealing). The key is configured as text; this module parses it.
 */
import { createHash, hkdfSync, randomBytes as nodeRandomBytes } from "node:crypto";
import { FRAME_KEY_INFO, NETWORK_ID_CONTEXT, NETWORK_KEY_BYTES } from "./constants.js";

/** A network key in the config that is not 32 bytes in hex or base64. The message says what was expected and where. */
export class NetworkKeyError extends Error {
  override readonly name = "NetworkKeyError";
  constructor(
    message: string,
    /** Where the key came from (a config file and key), as given by the caller. */
    readonly where: string,
  ) {
    super(message);
  }
}

/**
 * The 2-byte network id of a network name: the first two bytes (big-endian) of
 * SHA-256 over a context prefix and the name's UTF-8. Sites with the same name
 * share the id; two names share one with chance 1/65 536, which only costs
 * the receiver a failed integrity check per frame. Throws RangeError on an
 * empty name (the config layer requires one).
 */
export function networkIdFromName(name: string): number {
  if (name.length === 0) throw new RangeError("network name must not be empty");
  return createHash("sha256").update(NETWORK_ID_CONTEXT + name, "utf8").digest().readUInt16BE(0);
}

const HEX_KEY = /^[0-9a-fA-F]{64}$/;
/** Standard or URL-safe base64 of 32 bytes: 43 characters, then one optional "=". */
const BASE64_KEY = /^[A-Za-z0-9+/_-]{43}=?$/;

/**
 * The 32-byte network key written in `text` as 64 hex digits or as base64
 * (standard or URL-safe, padded or not). Surrounding whitespace is ignored.
 * Throws NetworkKeyError naming `where` and the expected form otherwise.
 */
export function parseNetworkKey(text: string, where = "network key"): Uint8Array {
  const t = text.trim();
  if (HEX_KEY.test(t)) return new Uint8Array(Buffer.from(t, "hex"));
  if (BASE64_KEY.test(t)) {
    const key = Buffer.from(t.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    if (key.length === NETWORK_KEY_BYTES) return new Uint8Array(key);
  }
  throw new NetworkKeyError(
    `${where}: expected ${NETWORK_KEY_BYTES} random bytes written as 64 hex digits or 44 base64 characters ` +
      `(got ${t.length} characters that are neither); create one with \`openssl rand -base64 32\` ` +
      "and give every site of the network the same key",
    where,
  );
}

/** A fresh random network key in base64, as `parseNetworkKey` reads it (for `meshlogd init`). */
export function generateNetworkKey(randomBytes: (n: number) => Uint8Array = nodeRandomBytes): string {
  return Buffer.from(randomBytes(NETWORK_KEY_BYTES)).toString("base64");
}

/**
 * The key that seals frames, derived from the configured network key with
 * HKDF-SHA256, so the configured key itself is never used directly and can
 * later key other things. Throws RangeError on a key of the wrong length.
 */
export function deriveFrameKey(networkKey: Uint8Array): Buffer {
  if (networkKey.length !== NETWORK_KEY_BYTES) {
    throw new RangeError(`network key must be ${NETWORK_KEY_BYTES} bytes, got ${networkKey.length}`);
  }
  return Buffer.from(hkdfSync("sha256", networkKey, new Uint8Array(0), FRAME_KEY_INFO, NETWORK_KEY_BYTES));
}
