/**
 * Signature verification for the verifier, either inline (small logs) or on a
 * pool of worker threads fed packed batches while the main thread walks the
 * chain. Both report the first failing job in submission (file) order.
 */
import type { KeyObject } from 'node:crypto';
import { verify } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { SigCheck } from './chain.js';
import { VERIFY_WORKER_SOURCE } from './verify-worker-source.js';

/** Where a signature came from, to name the record when it fails. */
export interface SigOrigin {
  readonly line: number;
  readonly seq: number;
}

export interface SigFailure extends SigOrigin {
  readonly keyid: string;
}

export interface SignatureVerifier {
  /** Queue one check; may wait for capacity. */
  submit(origin: SigOrigin, check: SigCheck): Promise<void> | void;
  /** The earliest failure known so far (may grow earlier until settle()). */
  knownFailureLine(): number | undefined;
  /** Wait for every queued check; the first failure in file order. */
  settle(): Promise<SigFailure | undefined>;
  close(): Promise<void>;
}

function earlier(a: SigFailure | undefined, b: SigFailure | undefined): SigFailure | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return b.line < a.line ? b : a;
}

export class InlineVerifier implements SignatureVerifier {
  private failure: SigFailure | undefined;

  submit(origin: SigOrigin, check: SigCheck): void {
    if (this.failure !== undefined) return;
    if (!verify(null, check.message, check.publicKey, check.sig)) this.failure = { ...origin, keyid: check.keyid };
  }

  knownFailureLine(): number | undefined {
    return this.failure?.line;
  }

  settle(): Promise<SigFailure | undefined> {
    return Promise.resolve(this.failure);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface PendingBatch {
  readonly meta: Array<SigOrigin & { keyid: string }>;
  readonly done: Promise<void>;
}

const BATCH_JOBS = 256;

export class WorkerPoolVerifier implements SignatureVerifier {
  private readonly workers: Worker[];
  private readonly keyIndex = new Map<string, number>();
  private readonly waiting = new Map<number, (fail: number) => void>();
  private readonly inflight: PendingBatch[] = [];
  private nextId = 0;
  private nextWorker = 0;
  private parts: Buffer[] = [];
  private meta: Array<SigOrigin & { keyid: string }> = [];
  private failure: SigFailure | undefined;
  private workerError: Error | undefined;

  constructor(keys: ReadonlyMap<string, KeyObject>, workerCount: number) {
    const ders: Uint8Array[] = [];
    for (const [kid, key] of keys) {
      this.keyIndex.set(kid, ders.length);
      ders.push(new Uint8Array(key.export({ format: 'der', type: 'spki' })));
    }
    this.workers = Array.from({ length: workerCount }, () => {
      const w = new Worker(VERIFY_WORKER_SOURCE, { eval: true, workerData: { keys: ders } });
      w.on('message', (m: { id: number; fail: number }) => {
        const resolve = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        resolve?.(m.fail);
      });
      w.on('error', (e: Error) => {
        this.workerError = e;
        for (const resolve of this.waiting.values()) resolve(-2);
        this.waiting.clear();
      });
      return w;
    });
  }

  async submit(origin: SigOrigin, check: SigCheck): Promise<void> {
    const k = this.keyIndex.get(check.keyid);
    if (k === undefined) throw new Error(`internal error: no worker key for ${check.keyid}`);
    const head = Buffer.allocUnsafe(6);
    head.writeUInt16LE(k, 0);
    head.writeUInt32LE(check.message.length, 2);
    this.parts.push(head, check.message, check.sig);
    this.meta.push({ ...origin, keyid: check.keyid });
    if (this.meta.length >= BATCH_JOBS) this.dispatch();
    // Backpressure: at most two batches queued per worker.
    while (this.inflight.length > this.workers.length * 2) {
      const oldest = this.inflight.shift();
      if (oldest !== undefined) await oldest.done;
    }
  }

  private dispatch(): void {
    if (this.meta.length === 0) return;
    const packed = Buffer.concat(this.parts);
    // Transfer without a copy when the batch owns its ArrayBuffer (it does past 4 KiB).
    const owns = packed.byteOffset === 0 && packed.byteLength === packed.buffer.byteLength;
    const buf = owns ? packed.buffer : packed.buffer.slice(packed.byteOffset, packed.byteOffset + packed.byteLength);
    const meta = this.meta;
    this.parts = [];
    this.meta = [];
    const id = this.nextId++;
    const worker = this.workers[this.nextWorker++ % this.workers.length];
    if (worker === undefined) throw new Error('internal error: empty worker pool');
    const done = new Promise<void>((resolve) => {
      this.waiting.set(id, (fail) => {
        if (fail === -2) {
          const first = meta[0];
          if (first !== undefined) this.failure = earlier(this.failure, { ...first });
        } else if (fail >= 0) {
          const m = meta[fail];
          if (m !== undefined) this.failure = earlier(this.failure, m);
        }
        resolve();
      });
    });
    this.inflight.push({ meta, done });
    worker.postMessage({ id, buf }, [buf]);
  }

  knownFailureLine(): number | undefined {
    return this.failure?.line;
  }

  async settle(): Promise<SigFailure | undefined> {
    this.dispatch();
    await Promise.all(this.inflight.map((b) => b.done));
    this.inflight.length = 0;
    if (this.workerError !== undefined) throw new Error(`internal error: signature worker failed: ${this.workerError.message}`);
    return this.failure;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
