/**
 * Hostile input, radio: the hardening run of the station fuzz into a unsealed
 * station (see support/hostile-frames-suite.ts for the counts and bounds).
 */
import { describeHardeningFuzz } from "./support/hostile-frames-suite.js";

describeHardeningFuzz(false);
