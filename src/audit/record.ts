/**
 * The audit record: one canonical-JSON line per record, terminated by "\n".
 *
 *   {"payload":{"event":{...},"kid":"ed25519:…","prev":"<64 hex>","seq":N,"ts":"…Z","v":1},
 *    "payloadType":"application/vnd.zt-ffmpeg.audit.v1+json",
 *    "signatures":[{"alg":"ed25519","keyid":"ed25519:…","sig":"<base64>"}]}
 *
 * - seq starts at 0 and equals the record's index (so the first line is seq 0,
 *   line N is seq N-1, and a checkpoint's `size` is the next seq);
 * - prev is sha256 (hex) of the previous record's full line bytes including its
 *   "\n"; the first record's prev is 64 zeros;
 * - every signature covers PAE(payloadType, canonicalize(payload));
 * - a key-rotation record carries two signatures, [old key, new key].
 */
import { createHash, sign } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { canonicalize } from './canonical.js';
import { pae, RECORD_PAYLOAD_TYPE, SIGNATURE_ALG } from './dsse.js';
import { MAX_LINE_BYTES } from './lines.js';
import type { SigningKey } from '../keys/index.js';

export const GENESIS_PREV = '0'.repeat(64);

/** What happened. `type` is required; job events carry `jobId`. */
export interface AuditEvent {
  readonly type: 'decision' | 'result' | 'refusal' | 'key-rotation' | (string & {});
  readonly jobId?: string;
  readonly [field: string]: unknown;
}

export interface AuditPayload {
  readonly v: 1;
  readonly seq: number;
  readonly prev: string;
  readonly ts: string;
  readonly kid: string;
  readonly event: AuditEvent;
}

export interface AuditSignature {
  readonly keyid: string;
  readonly alg: string;
  readonly sig: string;
}

export interface AuditEnvelope {
  readonly payloadType: string;
  readonly payload: AuditPayload;
  readonly signatures: readonly AuditSignature[];
}

export interface EncodedRecord {
  /** The canonical line including its trailing "\n". */
  readonly line: string;
  readonly bytes: Buffer;
  /** sha256 hex of `bytes`: the next record's `prev`. */
  readonly hash: string;
}

export function sha256Hex(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

const NL = Buffer.from('\n');

/** Hash of a line given without its "\n" (as readLines yields it). */
export function lineHash(lineWithoutNewline: Uint8Array): string {
  return sha256Hex(lineWithoutNewline, NL);
}

/** Sign `payload` with each key in order and encode the record line. */
export function encodeRecord(payload: AuditPayload, signers: readonly SigningKey[]): EncodedRecord {
  const body = canonicalize(payload, MAX_RECORD_DEPTH - 4);
  const message = pae(RECORD_PAYLOAD_TYPE, body);
  const signatures: AuditSignature[] = signers.map((k) => ({
    keyid: k.keyId,
    alg: SIGNATURE_ALG,
    sig: sign(null, message, k.privateKey).toString('base64'),
  }));
  const envelope: AuditEnvelope = { payloadType: RECORD_PAYLOAD_TYPE, payload, signatures };
  const line = `${canonicalize(envelope)}\n`;
  const bytes = Buffer.from(line, 'utf8');
  // Never write a record the verifier would refuse: the caller fails closed on this.
  if (bytes.length - 1 > MAX_RECORD_BYTES) throw new RecordTooLarge(bytes.length - 1);
  return { line, bytes, hash: sha256Hex(bytes) };
}

/** A record over MAX_RECORD_BYTES: the writer refuses it (audit-unavailable), the job does not run. */
export class RecordTooLarge extends Error {
  constructor(readonly bytes: number) {
    super(`an audit record of ${bytes} bytes is more than the ${MAX_RECORD_BYTES} a record may be`);
  }
}

export type DecodeFault = 'malformed' | 'modified' | 'downgraded';

export type DecodedRecord =
  | {
      readonly ok: true;
      readonly envelope: AuditEnvelope;
      /** The exact bytes the signatures must cover. */
      readonly message: Buffer;
      /** Raw signature bytes, parallel to envelope.signatures. */
      readonly sigBytes: readonly Buffer[];
    }
  | { readonly ok: false; readonly fault: DecodeFault; readonly message: string; readonly seq?: number };

const HEX64 = /^[0-9a-f]{64}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const SIG_B64 = /^[A-Za-z0-9+/]{85}[AQgw]==$/; // 64 bytes of base64, canonical padding bits

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hasExactKeys(o: Record<string, unknown>, keys: readonly string[]): boolean {
  const own = Object.keys(o);
  return own.length === keys.length && keys.every((k) => Object.hasOwn(o, k));
}

function bad(fault: DecodeFault, message: string, seq?: number): DecodedRecord {
  return seq === undefined ? { ok: false, fault, message } : { ok: false, fault, message, seq };
}

/** The most bytes one record line may have (the writer refuses to write a longer one). */
export const MAX_RECORD_BYTES = MAX_LINE_BYTES;
/** The deepest nesting of arrays and objects a record may have (ours nest about 6 levels). */
export const MAX_RECORD_DEPTH = 64;

/**
 * How deeply `line`'s JSON nests, stopping as soon as it passes `limit`: one pass over the
 * bytes, outside strings (a string's brackets do not count; escapes are skipped). Lets a
 * record be refused before any recursive step (parse, key-order check, canonicalisation) sees it.
 */
export function nestingExceeds(line: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/**
 * Parse and shape-check one line (without its "\n"). Total: whatever the bytes, it returns a
 * result and never throws (too long or too deep is 'malformed'). Checks that the bytes are
 * exactly the canonical encoding of what they parse to, so a record cannot be
 * re-encoded without changing its hash. Does not verify signatures or links.
 */
export function decodeRecord(line: Uint8Array): DecodedRecord {
  if (line.length > MAX_RECORD_BYTES) return bad('malformed', `line is more than ${MAX_RECORD_BYTES} bytes long; no audit record is`);
  if (nestingExceeds(line, MAX_RECORD_DEPTH)) return bad('malformed', `line nests arrays or objects more than ${MAX_RECORD_DEPTH} levels deep; no audit record does`);
  const text = Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString('utf8');
  // Invalid UTF-8 decodes to U+FFFD; only then pay for the exact check.
  if (text.includes('\uFFFD') && !isUtf8(line)) return bad('malformed', 'line is not valid UTF-8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e: unknown) {
    return bad('malformed', `line is not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isPlainObject(parsed) || !hasExactKeys(parsed, ['payload', 'payloadType', 'signatures'])) {
    return bad('malformed', 'expected an envelope object with exactly payload, payloadType and signatures');
  }
  const { payload, payloadType, signatures } = parsed;
  if (typeof payloadType !== 'string') return bad('malformed', 'payloadType is not a string');
  if (!isPlainObject(payload) || !hasExactKeys(payload, ['v', 'seq', 'prev', 'ts', 'kid', 'event'])) {
    return bad('malformed', 'expected a payload with exactly v, seq, prev, ts, kid and event');
  }
  const { seq, prev, ts, kid, event, v } = payload;
  if (typeof v !== 'number') return bad('malformed', 'payload.v is not a number');
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return bad('malformed', 'payload.seq is not a non-negative integer');
  if (typeof prev !== 'string' || !HEX64.test(prev)) return bad('malformed', 'payload.prev is not 64 lowercase hex digits', seq);
  if (typeof ts !== 'string' || !ISO_UTC.test(ts) || Number.isNaN(Date.parse(ts))) return bad('malformed', 'payload.ts is not an ISO-8601 UTC timestamp', seq);
  if (typeof kid !== 'string') return bad('malformed', 'payload.kid is not a string', seq);
  if (!isPlainObject(event) || typeof event.type !== 'string') return bad('malformed', 'payload.event is not an object with a string type', seq);
  if (event.jobId !== undefined && typeof event.jobId !== 'string') return bad('malformed', 'payload.event.jobId is not a string', seq);
  if (!Array.isArray(signatures) || signatures.length === 0) return bad('downgraded', 'record is unsigned (no signatures)', seq);
  const sigBytes: Buffer[] = [];
  for (const s of signatures as unknown[]) {
    if (!isPlainObject(s) || !hasExactKeys(s, ['keyid', 'alg', 'sig'])) return bad('malformed', 'expected signatures of exactly keyid, alg and sig', seq);
    if (s.alg !== SIGNATURE_ALG) return bad('downgraded', `signature algorithm is ${JSON.stringify(s.alg)}; expected "${SIGNATURE_ALG}"`, seq);
    if (typeof s.keyid !== 'string') return bad('malformed', 'signature keyid is not a string', seq);
    if (typeof s.sig !== 'string' || !SIG_B64.test(s.sig)) return bad('modified', 'signature is not base64 of 64 bytes', seq);
    sigBytes.push(Buffer.from(s.sig, 'base64'));
  }
  const body = canonicalPayloadText(text, parsed, payload);
  if (body === undefined) return bad('modified', 'record bytes are not in canonical form (re-encoded or edited)', seq);
  if (body === null) return bad('malformed', 'record is not canonicalizable JSON (a lone surrogate or a non-finite number)', seq);
  return {
    ok: true,
    envelope: parsed as unknown as AuditEnvelope,
    message: pae(payloadType, body),
    sigBytes,
  };
}

const ENVELOPE_PREFIX = '{"payload":';
const PAYLOAD_TYPE_KEY = ',"payloadType":';
const LONE_SURROGATE_ESCAPE = /\\ud[89a-f][0-9a-f]{2}/;

/** True if every object in `v` lists its keys in UTF-16 code-unit order. */
function keysSorted(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true;
  if (Array.isArray(v)) return v.every(keysSorted);
  const keys = Object.keys(v);
  for (let i = 1; i < keys.length; i++) if ((keys[i - 1] as string) >= (keys[i] as string)) return false;
  return keys.every((k) => keysSorted((v as Record<string, unknown>)[k]));
}

/**
 * If `text` is the JCS encoding of `parsed`, return the canonical text of
 * `payload` (what the signatures cover); undefined if not canonical; null if
 * the value cannot be canonicalized at all. Fast path: JSON.stringify keeps
 * parse order and ECMAScript number/string forms, so text === stringify(parsed)
 * plus sorted keys and no escaped lone surrogate proves canonical form. Integer-
 * like keys (which JS reorders) fall back to the full canonicalizer.
 */
function canonicalPayloadText(text: string, parsed: unknown, payload: unknown): string | undefined | null {
  // An escaped lone surrogate (or a literal "\\ud8xx" text) takes the slow, exact path.
  if (JSON.stringify(parsed) === text && keysSorted(parsed) && text.startsWith(ENVELOPE_PREFIX) && !LONE_SURROGATE_ESCAPE.test(text)) {
    const end = text.lastIndexOf(PAYLOAD_TYPE_KEY);
    if (end > ENVELOPE_PREFIX.length) return text.slice(ENVELOPE_PREFIX.length, end);
  }
  try {
    const env = parsed as { payloadType: unknown; signatures: unknown };
    const body = canonicalize(payload);
    const canonical = `${ENVELOPE_PREFIX}${body}${PAYLOAD_TYPE_KEY}${canonicalize(env.payloadType)},"signatures":${canonicalize(env.signatures)}}`;
    return canonical === text ? body : undefined;
  } catch {
    return null;
  }
}
