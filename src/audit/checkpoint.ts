/**
 * The signed checkpoint kept beside the log (`<log>.checkpoint`), after C2SP
 * tlog-checkpoint: it commits to the log's identity (origin), its size (record
 * count), byte length and head hash, signed (DSSE, own payload type) by the key
 * active at the head. The writer reads it instead of the whole log (O(1) appends);
 * the verifier uses it to detect tail truncation (cf. journald CVE-2023-31438)
 * and forks. Keep a copy elsewhere (a witness) to also detect a checkpoint that
 * was deleted or rolled back together with the log's tail.
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { canonicalize } from './canonical.js';
import { CHECKPOINT_PAYLOAD_TYPE, pae, SIGNATURE_ALG } from './dsse.js';
import type { SigningKey } from '../keys/index.js';

export interface Checkpoint {
  readonly v: 1;
  /** "zt-ffmpeg.audit/" + first 32 hex digits of the genesis record's hash. */
  readonly origin: string;
  /** Number of records; also the seq the next record gets. */
  readonly size: number;
  /** Byte length of the log those records occupy. */
  readonly bytes: number;
  /** Hash of the last record's line (64 zeros when size is 0). */
  readonly head: string;
  readonly ts: string;
  readonly kid: string;
}

export function originFor(genesisHash: string): string {
  return `zt-ffmpeg.audit/${genesisHash.slice(0, 32)}`;
}

export function checkpointPathFor(logPath: string): string {
  return `${logPath}.checkpoint`;
}

export function encodeCheckpoint(cp: Omit<Checkpoint, 'v' | 'kid'>, key: SigningKey): string {
  const payload: Checkpoint = { v: 1, origin: cp.origin, size: cp.size, bytes: cp.bytes, head: cp.head, ts: cp.ts, kid: key.keyId };
  const sig = sign(null, pae(CHECKPOINT_PAYLOAD_TYPE, canonicalize(payload)), key.privateKey).toString('base64');
  return `${canonicalize({ payloadType: CHECKPOINT_PAYLOAD_TYPE, payload, signatures: [{ keyid: key.keyId, alg: SIGNATURE_ALG, sig }] })}\n`;
}

export type DecodedCheckpoint =
  | { readonly ok: true; readonly checkpoint: Checkpoint; readonly message: Buffer; readonly sig: Buffer; readonly keyid: string }
  | { readonly ok: false; readonly message: string };

const HEX64 = /^[0-9a-f]{64}$/;

/** Parse a checkpoint file's contents (shape only; see checkpointSignatureValid). */
export function decodeCheckpoint(data: Buffer): DecodedCheckpoint {
  const fail = (message: string): DecodedCheckpoint => ({ ok: false, message });
  if (!isUtf8(data)) return fail('checkpoint is not UTF-8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch {
    return fail('checkpoint is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) return fail('checkpoint is not an object');
  const env = parsed as { payloadType?: unknown; payload?: unknown; signatures?: unknown };
  if (env.payloadType !== CHECKPOINT_PAYLOAD_TYPE) return fail(`checkpoint payloadType is not ${CHECKPOINT_PAYLOAD_TYPE}`);
  const p = env.payload as Partial<Record<keyof Checkpoint, unknown>> | undefined;
  if (
    typeof p !== 'object' ||
    p === null ||
    p.v !== 1 ||
    typeof p.origin !== 'string' ||
    typeof p.size !== 'number' ||
    !Number.isSafeInteger(p.size) ||
    p.size < 0 ||
    typeof p.bytes !== 'number' ||
    !Number.isSafeInteger(p.bytes) ||
    p.bytes < 0 ||
    typeof p.head !== 'string' ||
    !HEX64.test(p.head) ||
    typeof p.ts !== 'string' ||
    typeof p.kid !== 'string'
  ) {
    return fail('checkpoint payload lacks v/origin/size/bytes/head/ts/kid');
  }
  const sigs = env.signatures;
  if (!Array.isArray(sigs) || sigs.length !== 1) return fail('checkpoint must carry exactly one signature');
  const s = sigs[0] as { keyid?: unknown; alg?: unknown; sig?: unknown };
  if (s.alg !== SIGNATURE_ALG || typeof s.sig !== 'string' || s.keyid !== p.kid) return fail('checkpoint signature is not an ed25519 signature by payload.kid');
  const checkpoint: Checkpoint = { v: 1, origin: p.origin, size: p.size, bytes: p.bytes, head: p.head, ts: p.ts, kid: p.kid };
  let canonical: string;
  try {
    canonical = `${canonicalize(parsed)}\n`;
  } catch {
    return fail('checkpoint is not canonicalizable JSON');
  }
  if (canonical !== data.toString('utf8')) return fail('checkpoint is not in canonical form');
  return { ok: true, checkpoint, message: pae(CHECKPOINT_PAYLOAD_TYPE, canonicalize(checkpoint)), sig: Buffer.from(s.sig, 'base64'), keyid: p.kid };
}

export function checkpointSignatureValid(d: Extract<DecodedCheckpoint, { ok: true }>, publicKey: KeyObject): boolean {
  return d.sig.length === 64 && verify(null, d.message, publicKey, d.sig);
}
