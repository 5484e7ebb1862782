import { InvalidLimitsError } from './errors.js';

/** Size limits enforced by the codec on both the sending and the receiving side. */
export interface ProtocolLimits {
  /** Largest frame accepted, bytes, length prefix excluded. Checked before the body is buffered. Default 16 MiB. */
  maxFrameBytes: number;
  /** Largest topic, UTF-8 bytes. Default 256. */
  maxTopicBytes: number;
  /** Largest payload, bytes. Default 16 MiB minus 1 KiB (it must fit in a frame). */
  maxPayloadBytes: number;
  /** Largest sync token, bytes. Default 64. */
  maxSyncTokenBytes: number;
  /** Largest node name, UTF-8 bytes. Default 128. */
  maxNodeNameBytes: number;
  /**
   * Largest first frame (the handshake or its answer) accepted from a peer, bytes, length prefix
   * excluded. Checked before the body is buffered, so an unauthenticated connection holds at most
   * this much. The effective cap is the smaller of this and `maxFrameBytes`. At least 16 KiB. Default 64 KiB.
   */
  maxHandshakeFrameBytes: number;
}

/** The defaults used when a limit is not configured. */
export const DEFAULT_LIMITS: Readonly<ProtocolLimits> = Object.freeze({
  maxFrameBytes: 16 * 1024 * 1024,
  maxTopicBytes: 256,
  maxPayloadBytes: 16 * 1024 * 1024 - 1024,
  maxSyncTokenBytes: 64,
  maxNodeNameBytes: 128,
  maxHandshakeFrameBytes: 64 * 1024,
});

const LIMIT_KEYS = Object.keys(DEFAULT_LIMITS) as (keyof ProtocolLimits)[];
/** Frames carry a u32 length and u16 field lengths; limits beyond them cannot be expressed. */
const HARD_CAP: Record<keyof ProtocolLimits, number> = {
  maxFrameBytes: 0xffff_ffff,
  maxTopicBytes: 0xffff,
  maxPayloadBytes: 0xffff_ffff,
  maxSyncTokenBytes: 0xffff,
  maxNodeNameBytes: 0xffff,
  maxHandshakeFrameBytes: 0xffff_ffff,
};
/** Smallest accepted value per limit (1 unless stated): a handshake must have room for a name, a token and some topics. */
const MIN: Partial<Record<keyof ProtocolLimits, number>> = { maxHandshakeFrameBytes: 16 * 1024 };

/** Fills in defaults and validates: every limit a positive integer within what the frame format can carry. */
export function resolveLimits(limits?: Partial<ProtocolLimits>): ProtocolLimits {
  const out = { ...DEFAULT_LIMITS };
  if (limits === undefined) return out;
  for (const key of Object.keys(limits)) {
    if (!(LIMIT_KEYS as string[]).includes(key)) {
      throw new InvalidLimitsError(`unknown limit "${key}"; known limits: ${LIMIT_KEYS.join(', ')}`);
    }
    const value = limits[key as keyof ProtocolLimits];
    if (value === undefined) continue;
    const cap = HARD_CAP[key as keyof ProtocolLimits];
    const min = MIN[key as keyof ProtocolLimits] ?? 1;
    if (!Number.isInteger(value) || value < min || value > cap) {
      throw new InvalidLimitsError(`limit ${key} must be an integer from ${min} to ${cap}, got ${String(value)}`);
    }
    out[key as keyof ProtocolLimits] = value;
  }
  return out;
}
