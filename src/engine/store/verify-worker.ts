/** Worker thread of the verify pool: checks Ed25519 signatures of events claimed from a shared batch. */
import { parentPort } from "node:worker_threads";
import { verifySignature } from "../crypto.js";
import { signingMessage } from "../event.js";
import { workOn, type VerifyRequest } from "./verify-protocol.js";

parentPort?.on("message", (req: VerifyRequest) => {
  workOn(req, (publicKey, id, sig) => verifySignature(publicKey, signingMessage(id), sig));
});
