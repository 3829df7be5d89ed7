/**
 * LoRa time on air, from the Semtech formula (SX1276 datasheet §4.1.1.7, AN1200.13)
 * with the RNode firmware's own choices: an 18-symbol minimum preamble
 * stretched to 24 ms, low-data-rate optimisation by its integer rule, CRC on,
 * explicit header, and one header byte of its own in front of every packet.
 */

/** Radio parameters that decide airtime. */
export interface LoRaModulation {
  /** Spreading factor, 5..12. */
  readonly sf: number;
  /** Bandwidth in Hz (125000 for 125 kHz). */
  readonly bandwidth: number;
  /** Coding rate as RNode names it: 5..8 for 4/5..4/8. */
  readonly cr: number;
}

/** Largest LoRa packet payload (bytes), RNode's header byte included. */
export const LORA_MAX_PACKET = 255;

/** The byte the RNode firmware puts in front of every packet (sequence nibble and split flag). */
export const RNODE_HEADER_BYTES = 1;

/** Largest host payload that goes out as one LoRa packet through an RNode. */
export const RNODE_SINGLE_PAYLOAD = LORA_MAX_PACKET - RNODE_HEADER_BYTES;

/** Largest host payload an RNode accepts at all (sent as two packets when above 254). */
export const RNODE_MAX_PAYLOAD = 2 * RNODE_SINGLE_PAYLOAD;

/** Symbol time in ms. */
export function symbolMs(m: LoRaModulation): number {
  return (2 ** m.sf / m.bandwidth) * 1000;
}

/** RNode's preamble: at least 18 symbols, and at least 24 ms (Utilities.h updateBitrate). */
export function rnodePreambleSymbols(m: LoRaModulation): number {
  return Math.max(18, Math.ceil(24 / symbolMs(m)));
}

/** RNode turns low-data-rate optimisation on when (2^SF / (BW in kHz)), in integer division, exceeds 16. */
export function rnodeLowDataRate(m: LoRaModulation): boolean {
  return Math.floor(2 ** m.sf / Math.floor(m.bandwidth / 1000)) > 16;
}

/**
 * Time on air (ms) of one LoRa packet of `payloadBytes` bytes on the air,
 * explicit header and CRC on. `preambleSymbols` and `lowDataRate` default to
 * what the RNode firmware uses.
 */
export function packetAirtimeMs(
  payloadBytes: number,
  m: LoRaModulation,
  preambleSymbols = rnodePreambleSymbols(m),
  lowDataRate = rnodeLowDataRate(m),
): number {
  const tsym = symbolMs(m);
  const de = lowDataRate ? 1 : 0;
  const crc = 1;
  const ih = 0;
  const numerator = 8 * payloadBytes - 4 * m.sf + 28 + 16 * crc - 20 * ih;
  const nPayload = 8 + Math.max(Math.ceil(numerator / (4 * (m.sf - 2 * de))) * m.cr, 0);
  return (preambleSymbols + 4.25) * tsym + nPayload * tsym;
}

/**
 * Time on air (ms) of a host frame of `frameBytes` bytes sent through an
 * RNode: one packet of frameBytes+1 bytes, or two packets when the frame is
 * longer than 254 bytes (the firmware splits it, each half with its header).
 */
export function rnodeFrameAirtimeMs(frameBytes: number, m: LoRaModulation): number {
  if (frameBytes <= RNODE_SINGLE_PAYLOAD) return packetAirtimeMs(frameBytes + RNODE_HEADER_BYTES, m);
  return (
    packetAirtimeMs(RNODE_SINGLE_PAYLOAD + RNODE_HEADER_BYTES, m) +
    packetAirtimeMs(frameBytes - RNODE_SINGLE_PAYLOAD + RNODE_HEADER_BYTES, m)
  );
}
