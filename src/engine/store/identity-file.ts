/**
 * The site's identity on disk: an Ed25519 private key in PKCS#8 PEM (readable
 * by `openssl pkey`), created on first run with mode 0600 and refused if
 * anyone but its owner could read it.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { createPrivateKey } from "node:crypto";
import { dirname } from "node:path";
import { generateSigner, seedToPkcs8, signerFromKeyObject, signerFromSeed, type Signer } from "../crypto.js";

/** The key file cannot be used; the message says which file and what to do. */
export class IdentityFileError extends Error {
  override readonly name = "IdentityFileError";
}

/** Loads the identity at `path`, creating it (mode 0600, parent 0700) if absent. */
export function loadOrCreateIdentity(path: string): { signer: Signer; created: boolean } {
  try {
    return { signer: loadIdentity(path), created: false };
  } catch (err) {
    if (!(err instanceof IdentityFileError) || !err.message.includes("does not exist")) throw err;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const { seed } = generateSigner();
  const pem = `-----BEGIN PRIVATE KEY-----\n${seedToPkcs8(seed).toString("base64")}\n-----END PRIVATE KEY-----\n`;
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600); // exclusive: two processes starting at once cannot both create one
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return { signer: loadIdentity(path), created: false };
    throw new IdentityFileError(`cannot create the identity key file ${path}: ${(err as Error).message}; check that the directory is writable`);
  }
  try {
    writeSync(fd, pem);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { signer: signerFromSeed(seed), created: true };
}

/** Loads an existing identity; refuses files group- or world-accessible. */
export function loadIdentity(path: string): Signer {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw new IdentityFileError(`the identity key file ${path} does not exist`);
  }
  if ((mode & 0o077) !== 0) {
    throw new IdentityFileError(
      `the identity key file ${path} can be read by other users (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
    );
  }
  try {
    const key = createPrivateKey({ key: readFileSync(path), format: "pem" });
    if (key.asymmetricKeyType !== "ed25519") throw new Error(`it holds a ${key.asymmetricKeyType ?? "unknown"} key`);
    return signerFromKeyObject(key);
  } catch (err) {
    throw new IdentityFileError(
      `the identity key file ${path} is not an Ed25519 private key in PEM (${(err as Error).message}); restore it from your backup, or move it away to create a new identity (other sites must then be told the new public key)`,
    );
  }
}
