/**
 * Reading the log for `audit show` / `audit stats`: a streaming record reader,
 * filters over event fields and summary statistics. Given trusted keys, the reader
 * checks each record's signatures and says so (`verified`); the chain itself is
 * verifyLogs' job. A record that does not verify is shown marked and never counted
 * as a job's outcome.
 *
 * Event fields read (all optional): event.principal.user, event.verdict,
 * event.operation, event.input.sha256, event.violations[].rule, event.anomalies
 * (array or count), event.timings.totalMs or event.wallMs, event.ok /
 * event.outcome / event.exitCode on result records.
 */
import { verify } from 'node:crypto';
import { ZtError } from '../errors.js';
import type { TrustedKeys } from '../keys/index.js';
import { IN_FLIGHT_REREADS, lineMayBeInFlight, readLines, type RawLine } from './lines.js';
import { decodeRecord, lineHash, type AuditEvent, type DecodedRecord } from './record.js';

export interface ParsedRecord {
  /** 1-based line number. */
  readonly line: number;
  readonly offset: number;
  readonly seq: number;
  readonly ts: string;
  readonly kid: string;
  readonly hash: string;
  readonly event: AuditEvent;
  /** Every signature is by a trusted key and verifies; undefined when no keys were given. */
  readonly verified?: boolean;
}

/** Whether every signature of a decoded record is by a trusted key and verifies (and there is one). */
export function signaturesVerify(d: Extract<DecodedRecord, { ok: true }>, trusted: TrustedKeys): boolean {
  const sigs = d.envelope.signatures;
  if (sigs.length === 0) return false;
  return sigs.every((s, i) => {
    const key = trusted.get(s.keyid);
    const sig = d.sigBytes[i];
    if (key === undefined || sig === undefined || sig.length !== 64) return false;
    try {
      return verify(null, d.message, key, sig);
    } catch {
      return false;
    }
  });
}

/** Stream the records of `path` in order. Throws ZtError('audit-invalid') at the first unreadable line. */
export async function* readRecords(path: string, opts: { trusted?: TrustedKeys } = {}): AsyncGenerator<ParsedRecord> {
  let from = { start: 0, firstLineNo: 1 };
  for (let read = 1; ; read++) {
    let again = false;
    for await (const ln of readLines(path, from)) {
      // A last line caught half-written by a writer still appending is read again from its start.
      if (!ln.complete && read <= IN_FLIGHT_REREADS && (await lineMayBeInFlight(path, ln))) {
        from = { start: ln.offset, firstLineNo: ln.lineNo };
        again = true;
        break;
      }
      yield parsedOrThrow(path, ln, opts);
    }
    if (!again) return;
  }
}

function parsedOrThrow(path: string, ln: RawLine, opts: { trusted?: TrustedKeys }): ParsedRecord {
  const d = ln.complete ? decodeRecord(ln.bytes) : ({ ok: false, message: 'incomplete last line' } as const);
  if (!d.ok) {
    throw new ZtError('audit-invalid', `${path}:${ln.lineNo}: not a readable audit record (${d.message})`, {
      hint: `run \`zt-ffmpeg audit verify ${path}\` to check the log`,
      details: { path, line: ln.lineNo },
    });
  }
  const p = d.envelope.payload;
  const verified = opts.trusted ? signaturesVerify(d, opts.trusted) : undefined;
  return { line: ln.lineNo, offset: ln.offset, seq: p.seq, ts: p.ts, kid: p.kid, hash: lineHash(ln.bytes), event: p.event, ...(verified !== undefined ? { verified } : {}) };
}

export interface RecordFilter {
  /** Inclusive lower bound on ts (ISO string or Date). */
  readonly since?: string | Date;
  /** Exclusive upper bound on ts. */
  readonly until?: string | Date;
  /** event.principal.user */
  readonly principal?: string;
  /** event.verdict */
  readonly verdict?: string;
  /** event.operation */
  readonly operation?: string;
  /** event.input.sha256 (case-insensitive) */
  readonly inputSha256?: string;
  readonly type?: string;
  readonly jobId?: string;
}

/** An own field of a record's event (never one inherited from Object.prototype). */
function field(o: unknown, ...path: string[]): unknown {
  let cur = o;
  for (const k of path) {
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, k)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function timeOf(t: string | Date, name: string): number {
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  if (Number.isNaN(ms)) throw new ZtError('usage', `--${name} ${String(t)} is not a date`, { hint: 'use an ISO-8601 date such as 2025-01-31 or 2025-01-31T12:00:00Z' });
  return ms;
}

export function matchesFilter(r: ParsedRecord, f: RecordFilter): boolean {
  const ts = Date.parse(r.ts);
  if (f.since !== undefined && ts < timeOf(f.since, 'since')) return false;
  if (f.until !== undefined && ts >= timeOf(f.until, 'until')) return false;
  if (f.principal !== undefined && field(r.event, 'principal', 'user') !== f.principal) return false;
  if (f.verdict !== undefined && r.event.verdict !== f.verdict) return false;
  if (f.operation !== undefined && r.event.operation !== f.operation) return false;
  if (f.type !== undefined && r.event.type !== f.type) return false;
  if (f.jobId !== undefined && r.event.jobId !== f.jobId) return false;
  if (f.inputSha256 !== undefined) {
    const sha = field(r.event, 'input', 'sha256');
    if (typeof sha !== 'string' || sha.toLowerCase() !== f.inputSha256.toLowerCase()) return false;
  }
  return true;
}

export async function* filterRecords(records: AsyncIterable<ParsedRecord> | Iterable<ParsedRecord>, filter: RecordFilter): AsyncGenerator<ParsedRecord> {
  for await (const r of records) if (matchesFilter(r, filter)) yield r;
}

export interface TimingStats {
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
}

export interface AuditStats {
  readonly records: number;
  /** Distinct job ids. */
  readonly jobs: number;
  readonly ok: number;
  readonly refused: number;
  readonly failed: number;
  /** Jobs with a decision and no result/refusal yet. */
  readonly unfinished: number;
  /** Records whose signatures did not verify: listed here, counted nowhere else. */
  readonly unverified: number;
  /** Rule id → number of refused jobs that broke it. */
  readonly refusalsByRule: Record<string, number>;
  readonly anomalies: number;
  /** Operation → wall-time percentiles over result records. */
  readonly timingsByOperation: Record<string, TimingStats>;
}

const REFUSE_VERDICTS: ReadonlySet<string> = new Set(['refuse', 'refused', 'deny', 'denied']);
const OK_OUTCOMES: ReadonlySet<string> = new Set(['ok', 'success', 'succeeded']);

type Outcome = 'ok' | 'refused' | 'failed' | 'unfinished';

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? 0;
}

function resultOk(e: AuditEvent): boolean {
  if (typeof e.ok === 'boolean') return e.ok;
  if (typeof e.outcome === 'string') return OK_OUTCOMES.has(e.outcome);
  if (typeof e.exitCode === 'number') return e.exitCode === 0;
  return false;
}

export async function auditStats(records: AsyncIterable<ParsedRecord> | Iterable<ParsedRecord>): Promise<AuditStats> {
  let count = 0;
  let anomalies = 0;
  let unverified = 0;
  const outcome = new Map<string, Outcome>();
  const ruleHits = new Map<string, Set<string>>();
  const opOf = new Map<string, string>();
  const timings = new Map<string, number[]>();
  for await (const r of records) {
    count++;
    if (r.verified === false) {
      unverified++;
      continue;
    }
    const e = r.event;
    const jobId = e.jobId;
    const a = e.anomalies;
    anomalies += Array.isArray(a) ? a.length : typeof a === 'number' ? a : 0;
    if (typeof e.operation === 'string' && jobId !== undefined) opOf.set(jobId, e.operation);
    if (jobId === undefined) continue;
    const refused = e.type === 'refusal' || (typeof e.verdict === 'string' && REFUSE_VERDICTS.has(e.verdict));
    if (refused) {
      outcome.set(jobId, 'refused');
      const violations = Array.isArray(e.violations) ? (e.violations as unknown[]) : [];
      for (const v of violations) {
        const rule = field(v, 'rule');
        if (typeof rule !== 'string') continue;
        const jobs = ruleHits.get(rule) ?? new Set<string>();
        jobs.add(jobId);
        ruleHits.set(rule, jobs);
      }
    } else if (e.type === 'result') {
      if (outcome.get(jobId) !== 'refused') outcome.set(jobId, resultOk(e) ? 'ok' : 'failed');
      const ms = field(e, 'timings', 'totalMs') ?? e.wallMs;
      if (typeof ms === 'number' && Number.isFinite(ms)) {
        const op = typeof e.operation === 'string' ? e.operation : opOf.get(jobId) ?? '(none)';
        const list = timings.get(op) ?? [];
        list.push(ms);
        timings.set(op, list);
      }
    } else if (e.type === 'decision' && !outcome.has(jobId)) {
      outcome.set(jobId, 'unfinished');
    }
  }
  const tally = (o: Outcome): number => [...outcome.values()].filter((x) => x === o).length;
  // Keyed by names read from the log: objects without a prototype, so an operation or a rule
  // called "__proto__" or "constructor" is counted like any other.
  const timingsByOperation = Object.create(null) as Record<string, TimingStats>;
  for (const [op, list] of [...timings.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const sorted = [...list].sort((x, y) => x - y);
    timingsByOperation[op] = { count: sorted.length, p50Ms: percentile(sorted, 50), p95Ms: percentile(sorted, 95) };
  }
  const refusalsByRule = Object.create(null) as Record<string, number>;
  for (const [rule, jobs] of [...ruleHits.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) refusalsByRule[rule] = jobs.size;
  return {
    records: count,
    jobs: outcome.size,
    ok: tally('ok'),
    refused: tally('refused'),
    failed: tally('failed'),
    unfinished: tally('unfinished'),
    unverified,
    refusalsByRule,
    anomalies,
    timingsByOperation,
  };
}
