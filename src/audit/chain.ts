/**
 * The pure core of verification: a state machine fed one decoded record at a
 * time (in file order). It checks everything except the signature maths, which
 * it hands back as SigChecks so they can run in parallel; the verifier reports
 * whichever fails first in file order. Trust comes only from `trusted`.
 *
 * Key ranges: the first record's key is the log's key; a key-rotation record,
 * signed by the active key and the new key, ends the old key's range (inclusive)
 * and starts the new key's; no other trusted key, and no retired key, may sign.
 */
import type { KeyObject } from 'node:crypto';
import { RECORD_PAYLOAD_TYPE } from './dsse.js';
import type { TrustedKeys } from '../keys/index.js';
import { GENESIS_PREV, type DecodedRecord } from './record.js';

export type FaultKind =
  | 'modified'
  | 'inserted'
  | 'deleted'
  | 'reordered'
  | 'truncated'
  | 'forked'
  | 'unknown-key'
  | 'key-out-of-range'
  | 'downgraded'
  | 'incomplete-last-line'
  | 'malformed';

export interface SigCheck {
  readonly keyid: string;
  readonly publicKey: KeyObject;
  readonly message: Buffer;
  readonly sig: Buffer;
}

/** How the seq/prev link broke; the verifier refines 'deleted'/'inserted' by looking around. */
export type LinkBreak = { readonly kind: 'ahead' | 'behind'; readonly seq: number; readonly expected: number } | { readonly kind: 'prev' };

export type StepResult =
  | { readonly ok: true; readonly sigChecks: readonly SigCheck[] }
  | { readonly ok: false; readonly fault: FaultKind; readonly message: string; readonly sigChecks: readonly SigCheck[]; readonly link?: LinkBreak };

export interface ChainSnapshot {
  readonly size: number;
  readonly head: string;
  readonly bytes: number;
  readonly activeKid: string | undefined;
}

export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60_000;

const CLOSING_EVENTS: ReadonlySet<string> = new Set(['result', 'refusal']);

export class ChainChecker {
  private size = 0;
  private head = GENESIS_PREV;
  private bytes = 0;
  private activeKid: string | undefined;
  private genesisHash: string | undefined;
  private readonly retiredAt = new Map<string, number>();
  private lastTsMs = Number.NEGATIVE_INFINITY;
  private readonly open = new Map<string, number>();

  constructor(
    private readonly trusted: TrustedKeys,
    private readonly maxClockSkewMs: number = DEFAULT_MAX_CLOCK_SKEW_MS,
  ) {}

  /** Feed the next record. `hash` is its line hash, `lineBytes` its length including "\n". */
  step(d: Extract<DecodedRecord, { ok: true }>, hash: string, lineBytes: number): StepResult {
    const { payload, payloadType, signatures } = d.envelope;
    const { event } = payload;
    const rotation = event.type === 'key-rotation';
    const newKid = rotation && typeof event.newKid === 'string' ? event.newKid : undefined;
    const signers = rotation ? [payload.kid, newKid ?? ''] : [payload.kid];

    if (signatures.length !== signers.length || signers.some((kid, i) => signatures[i]?.keyid !== kid)) {
      const fault = rotation && newKid === undefined ? 'malformed' : 'modified';
      return this.fail(fault, `signatures [${signatures.map((s) => s.keyid).join(', ')}] do not match the signer(s) the record names [${signers.join(', ')}]`, []);
    }
    const sigChecks: SigCheck[] = [];
    let unknown: string | undefined;
    signers.forEach((kid, i) => {
      const publicKey = this.trusted.get(kid);
      const sig = d.sigBytes[i];
      if (publicKey === undefined || sig === undefined) unknown ??= kid;
      else sigChecks.push({ keyid: kid, publicKey, message: d.message, sig });
    });

    if (payloadType !== RECORD_PAYLOAD_TYPE) return this.fail('downgraded', `payloadType is ${JSON.stringify(payloadType)}; expected ${RECORD_PAYLOAD_TYPE}`, sigChecks);
    if (payload.v !== 1) return this.fail('downgraded', `record version is ${payload.v}; expected 1`, sigChecks);
    if (unknown !== undefined) return this.fail('unknown-key', `signed by ${unknown}, which is not a trusted key`, sigChecks);

    const kid = payload.kid;
    if (this.activeKid !== undefined && kid !== this.activeKid) {
      const retired = this.retiredAt.get(kid);
      const why = retired !== undefined ? `was retired by the key rotation at seq ${retired}` : `is not this log's key (records ${this.size > 0 ? `up to seq ${this.size - 1}` : ''} are signed by ${this.activeKid})`;
      return this.fail('key-out-of-range', `signed by trusted key ${kid}, which ${why}`, sigChecks);
    }
    if (rotation && newKid !== undefined && (newKid === kid || this.retiredAt.has(newKid))) {
      return this.fail('key-out-of-range', `key rotation to ${newKid}, a key already retired in this log`, sigChecks);
    }

    if (payload.seq !== this.size || payload.prev !== this.head) {
      if (payload.seq > this.size) {
        const after = this.size === 0 ? 'starts the log' : `follows seq ${this.size - 1}`;
        return this.fail('deleted', `seq ${payload.seq} ${after}; records ${this.size}..${payload.seq - 1} are missing`, sigChecks, { kind: 'ahead', seq: payload.seq, expected: this.size });
      }
      if (payload.seq < this.size) {
        return this.fail('inserted', `seq ${payload.seq} appears again after seq ${this.size - 1}`, sigChecks, { kind: 'behind', seq: payload.seq, expected: this.size });
      }
      return this.fail('forked', `seq ${payload.seq} is validly placed but its prev does not hash-link to the record before it: it continues another history`, sigChecks, { kind: 'prev' });
    }

    const tsMs = Date.parse(payload.ts);
    if (tsMs < this.lastTsMs - this.maxClockSkewMs) {
      return this.fail('malformed', `timestamp ${payload.ts} is ${Math.round((this.lastTsMs - tsMs) / 1000)} s earlier than the record before it (tolerance ${this.maxClockSkewMs / 1000} s)`, sigChecks);
    }

    // Accept.
    if (this.size === 0) this.genesisHash = hash;
    this.activeKid ??= kid;
    if (rotation && newKid !== undefined) {
      this.retiredAt.set(kid, payload.seq);
      this.activeKid = newKid;
    }
    this.lastTsMs = Math.max(this.lastTsMs, tsMs);
    this.size++;
    this.head = hash;
    this.bytes += lineBytes;
    const jobId = event.jobId;
    if (typeof jobId === 'string') {
      if (event.type === 'decision') this.open.set(jobId, payload.seq);
      else if (CLOSING_EVENTS.has(event.type)) this.open.delete(jobId);
    }
    return { ok: true, sigChecks };
  }

  private fail(fault: FaultKind, message: string, sigChecks: readonly SigCheck[], link?: LinkBreak): StepResult {
    return link === undefined ? { ok: false, fault, message, sigChecks } : { ok: false, fault, message, sigChecks, link };
  }

  snapshot(): ChainSnapshot {
    return { size: this.size, head: this.head, bytes: this.bytes, activeKid: this.activeKid };
  }

  get genesis(): string | undefined {
    return this.genesisHash;
  }

  /** Job ids with a decision record and no result/refusal record yet, in log order. */
  unfinishedJobs(): string[] {
    return [...this.open.keys()];
  }
}
