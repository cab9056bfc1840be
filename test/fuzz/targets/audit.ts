/**
 * The audit log readers: `audit verify`, `audit show`/`stats` and the writer's head recovery,
 * on a real log (signed with a fixed key) mutated line by line (deleted, duplicated, swapped,
 * edited, re-encoded; hostile lines inserted: deep nesting, over-long, `__proto__` keys,
 * invalid UTF-8) and byte by byte. Invariants: each reader returns or fails with a ZtError of
 * exit 8 (or 2 for usage), never anything else. Oracle: a log that is not byte for byte the
 * signed one (or, without its checkpoint, a prefix of it ending at a line) never verifies.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ZtError } from '../../../src/errors.js';
import { auditStats, openAuditLog, readRecords, verifyLogs } from '../../../src/audit/index.js';
import { trustedKeysOf } from '../../../src/keys/index.js';
import { fixedKey } from '../keys.js';
import { havoc } from '../mutate.js';
import type { Rng } from '../rng.js';
import { crash, splitHeader, withHeader, type Finding, type Target } from '../target.js';

interface AuditInput {
  readonly log: Buffer;
  readonly checkpoint: Buffer | undefined;
}

const KEY = fixedKey('audit-log');

function hostileLine(rng: Rng, template: string): string {
  const deep = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
  return rng.pick<() => string>([
    () => template.replace('"event":{', `"event":{"d":${deep(100 + rng.int(5000))},`),
    () => template.replace('"event":{', '"event":{"__proto__":{"type":"x"},"constructor":1,'),
    () => template.replace('"type":"', '"type":"__proto__'),
    () => `{"payload":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}`,
    () => 'x'.repeat(rng.bool(0.05) ? 5 * 1024 * 1024 : rng.small(100_000)),
    () => Buffer.from([0xff, 0xfe, 0x80, 0x22]).toString('latin1'),
    () => template.replace(/"seq":(\d+)/, (_, n: string) => `"seq":${Number(n) + 1}`),
    () => template.replace(/"seq":(\d+)/, '"seq":1e400'),
    () => {
      try {
        return JSON.stringify(JSON.parse(template)); // re-encoded, not canonical
      } catch {
        return template;
      }
    },
    () => template.replace('{"payload"', '{ "payload"'),
  ])();
}

export function auditTarget(): Target<AuditInput> {
  let dir: string;
  let pristine: Buffer;
  let pristineCp: Buffer;
  let lines: string[];
  const trusted = trustedKeysOf([KEY.publicKey]);

  async function writeInput(input: AuditInput): Promise<string> {
    const log = path.join(dir, 'audit.log');
    await writeFile(log, input.log);
    await rm(`${log}.checkpoint`, { force: true });
    if (input.checkpoint) await writeFile(`${log}.checkpoint`, input.checkpoint);
    return log;
  }

  const typed = (where: string, e: unknown): Finding | undefined => (e instanceof ZtError && (e.exitCode === 8 || e.exitCode === 2) ? undefined : crash(where, e));

  return {
    name: 'audit-verify',
    sources: ['src/audit/lines.ts', 'src/audit/record.ts', 'src/audit/canonical.ts', 'src/audit/chain.ts', 'src/audit/verify.ts', 'src/audit/query.ts', 'src/audit/head.ts'],
    ext: 'jsonl',
    async setup() {
      dir = await mkdtemp(path.join(os.tmpdir(), 'zt-fuzz-audit-'));
      const log = path.join(dir, 'pristine.log');
      const w = await openAuditLog({ logPath: log, key: KEY });
      for (let j = 0; j < 4; j++) {
        await w.append({ type: 'decision', jobId: `j${j}`, verdict: 'allow', principal: { user: 'alice' }, violations: [{ rule: 'input.maxWidth', actual: 1, limit: 0 }], input: { sha256: 'ab'.repeat(32) } });
        await w.append({ type: j === 2 ? 'refusal' : 'result', jobId: `j${j}`, ok: true, operation: 'h264-mp4', timings: { totalMs: 10 + j } });
      }
      await w.close();
      pristine = await readFile(log);
      pristineCp = await readFile(`${log}.checkpoint`);
      lines = pristine.toString('utf8').split('\n').slice(0, -1);
    },
    async teardown() {
      await rm(dir, { recursive: true, force: true });
    },
    generate(rng) {
      const ls = [...lines];
      for (let k = 1 + rng.small(3); k > 0; k--) {
        const i = rng.int(ls.length);
        switch (rng.int(6)) {
          case 0:
            ls.splice(i, 1);
            break;
          case 1:
            ls.splice(rng.int(ls.length + 1), 0, ls[i] ?? '');
            break;
          case 2: {
            const j = rng.int(ls.length);
            [ls[i], ls[j]] = [ls[j] ?? '', ls[i] ?? ''];
            break;
          }
          default:
            ls.splice(rng.bool() ? i : ls.length, rng.bool(0.3) ? 1 : 0, hostileLine(rng, ls[i] ?? lines[0]!));
        }
      }
      let log: Buffer = Buffer.from(ls.map((l) => `${l}\n`).join(''), 'latin1');
      if (rng.bool(0.3)) log = havoc(rng, log);
      if (rng.bool(0.1)) log = log.subarray(0, rng.int(log.length + 1));
      const checkpoint = rng.bool(0.15) ? undefined : rng.bool(0.1) ? havoc(rng, pristineCp) : pristineCp;
      return { log, checkpoint };
    },
    async check(input) {
      const log = await writeInput(input);
      let report;
      try {
        report = await verifyLogs({ logPaths: [log], trusted, workers: 0 });
      } catch (e) {
        const f = typed('verifyLogs', e);
        if (f) return f;
      }
      if (report?.ok) {
        const cpSame = input.checkpoint?.equals(pristineCp) ?? false;
        const intact = input.checkpoint === undefined
          ? pristine.subarray(0, input.log.length).equals(input.log) && (input.log.length === 0 || input.log[input.log.length - 1] === 0x0a)
          : cpSame && input.log.equals(pristine);
        if (!intact) return { kind: 'bypass', message: `a log that is not the signed one verified (${input.log.length} bytes, checkpoint ${input.checkpoint ? (cpSame ? 'kept' : 'altered') : 'removed'})` };
      }
      try {
        await auditStats(readRecords(log));
      } catch (e) {
        const f = typed('readRecords/auditStats', e);
        if (f) return f;
      }
      if (input.log.length % 7 === 0) {
        // The writer's head recovery, on a tenth-or-so of the inputs (it fsyncs).
        try {
          const w = await openAuditLog({ logPath: log, key: KEY });
          try {
            await w.append({ type: 'decision', jobId: 'fuzz' });
          } finally {
            await w.close();
          }
        } catch (e) {
          const f = typed('the audit writer', e);
          if (f) return f;
        }
      }
      return undefined;
    },
    budgetMs: (input) => 2000 + input.log.length / 2000,
    encode: (input) => withHeader({ checkpointBytes: input.checkpoint?.length ?? -1 }, Buffer.concat([input.checkpoint ?? Buffer.alloc(0), input.log])),
    decode(bytes) {
      const { header, body } = splitHeader(bytes);
      const n = Number(header['checkpointBytes'] ?? -1);
      return n < 0 ? { log: body, checkpoint: undefined } : { checkpoint: body.subarray(0, n), log: body.subarray(n) };
    },
  };
}
