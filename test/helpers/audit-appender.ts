/**
 * A tiny separate-process appender for the audit tests (bundled with esbuild):
 *   node audit-appender.mjs LOG KEY COUNT TAG
 * appends COUNT decision/result pairs for jobs TAG-0.. and prints one JSON line:
 * {"ok":true,"seqs":[...]} or {"ok":false,"reason":"...","message":"..."} (exit 8).
 */
import { isZtError } from '../../src/errors.js';
import { loadSigningKey } from '../../src/keys/index.js';
import { openAuditLog } from '../../src/audit/writer.js';

async function main(): Promise<void> {
  const [logPath, keyPath, countText, tag] = process.argv.slice(2);
  if (logPath === undefined || keyPath === undefined || countText === undefined || tag === undefined) {
    throw new Error('usage: audit-appender LOG KEY COUNT TAG');
  }
  const key = await loadSigningKey(keyPath, { autoGenerate: false });
  const w = await openAuditLog({ logPath, key, lockTimeoutMs: 30_000 });
  const seqs: number[] = [];
  for (let i = 0; i < Number(countText); i++) {
    const jobId = `${tag}-${i}`;
    seqs.push((await w.append({ type: 'decision', jobId, pid: process.pid })).seq);
    seqs.push((await w.append({ type: 'result', jobId, ok: true })).seq);
  }
  await w.close();
  process.stdout.write(`${JSON.stringify({ ok: true, seqs })}\n`);
}

main().catch((e: unknown) => {
  if (isZtError(e)) {
    process.stdout.write(`${JSON.stringify({ ok: false, reason: e.reason, message: e.message })}\n`);
    process.exit(8);
  }
  process.stdout.write(`${JSON.stringify({ ok: false, reason: 'bug', message: String(e) })}\n`);
  process.exit(1);
});
