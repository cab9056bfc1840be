/**
 * Audit-log figures (issue 5), measured in this process with the compiled library in dist/:
 *
 *  - append cost: the real writer (openAuditLog → append: lock, head from the checkpoint, sign,
 *    one write, fsync, atomic checkpoint replace) on a log of 100,000 records against one that
 *    starts empty; pairs alternate (empty, big) and the figure is the median of the per-pair
 *    ratios. The open (head validation) cost is reported the same way.
 *  - verify throughput: verifyLogs() over the 100,000-record log, records per second.
 *
 * The 100,000-record log is built fast but honestly: each record is encoded and signed by the
 * library's own encodeRecord() with the real key, linked by prev hashes, with a signed
 * checkpoint from encodeCheckpoint(); the verifier must accept it before anything is measured.
 * (Building it through append() would cost 100,000 fsyncs.)
 */
import { randomUUID } from 'node:crypto';
import { open, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, pairRatios, summarize } from './stats.mjs';

function decisionEvent(jobId, i) {
  return {
    type: 'decision',
    jobId,
    command: 'run',
    tool: { name: 'zt-ffmpeg', version: '0.1.0' },
    host: os.hostname(),
    policy: { path: '/etc/zt-ffmpeg/policy.yaml', sha256: 'a'.repeat(64), stage: 'advanced', mode: 'enforce' },
    principal: { user: 'bench', uid: 1000, groups: ['bench'] },
    operation: 'transcode',
    input: {
      path: `/srv/uploads/clip-${i}.mp4`,
      size: 1_000_000 + i,
      sha256: 'b'.repeat(64),
      magic: 'mp4',
      probe: { format: 'mov,mp4,m4a,3gp,3g2,mj2', duration: 10, bitRate: 2_000_000, streams: [{ type: 'video', codec: 'h264', width: 1280, height: 720, fps: 25 }, { type: 'audio', codec: 'aac', sampleRate: 48000, channels: 2 }] },
    },
    decision: 'allow',
    authorization: { rule: 'local-operators' },
    ffmpegArgv: ['/usr/bin/ffmpeg', '-hide_banner', '-nostdin', '-n', '-threads', '4', '-i', '/in/input.mp4', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-c:a', 'aac', '-f', 'mp4', '/job/output.mp4'],
    sandbox: { profile: 'bwrap', seccomp: 'default', limits: { wallSeconds: 1800, cpuSeconds: 3600, addressSpaceMiB: 6144 } },
    output: { path: `/srv/out/clip-${i}.mp4` },
    warnings: [],
  };
}

function resultEvent(jobId, i) {
  return {
    type: 'result',
    jobId,
    command: 'run',
    tool: { name: 'zt-ffmpeg', version: '0.1.0' },
    host: os.hostname(),
    operation: 'transcode',
    input: { path: `/srv/uploads/clip-${i}.mp4`, size: 1_000_000 + i, sha256: 'b'.repeat(64) },
    verdict: 'ok',
    exitCode: 0,
    warnings: [],
    run: { exitCode: 0, signal: null, wallMs: 3400, peaks: { cpuMs: 6500, rssBytes: 180_000_000, threads: 18, processes: 3 }, anomalies: [] },
    output: { path: `/srv/out/clip-${i}.mp4`, size: 900_000, sha256: 'c'.repeat(64) },
    degraded: false,
    timings: { policy: 20, audit: 5, posture: 3, inspect: 150, run: 3400, verify: 120, publish: 2, totalMs: 3700 },
  };
}

/** Build a valid log of `n` records at `logPath` (decision/result pairs); returns ms taken. */
async function buildLog(lib, logPath, key, n) {
  const t0 = performance.now();
  const base = Date.now() - 2 * 3600_000;
  const fh = await open(logPath, 'wx', 0o600);
  let prev = lib.GENESIS_PREV;
  let bytes = 0;
  let genesis;
  let chunk = [];
  let ts = '';
  let jobId = '';
  try {
    for (let seq = 0; seq < n; seq++) {
      if (seq % 2 === 0) jobId = randomUUID();
      ts = new Date(base + seq * 20).toISOString();
      const event = seq % 2 === 0 ? decisionEvent(jobId, seq >> 1) : resultEvent(jobId, seq >> 1);
      const rec = lib.encodeRecord({ v: 1, seq, prev, ts, kid: key.keyId, event }, [key]);
      genesis ??= rec.hash;
      prev = rec.hash;
      bytes += rec.bytes.length;
      chunk.push(rec.bytes);
      if (chunk.length >= 2000) {
        await fh.write(Buffer.concat(chunk));
        chunk = [];
      }
    }
    if (chunk.length > 0) await fh.write(Buffer.concat(chunk));
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (n > 0) {
    const cp = lib.encodeCheckpoint({ origin: lib.originFor(genesis), size: n, bytes, head: prev, ts }, key);
    await writeFile(lib.checkpointPathFor(logPath), cp, { mode: 0o600 });
  }
  return { ms: performance.now() - t0, bytes };
}

/**
 * Run the audit figures. `dist` is the absolute path of dist/; `work` a private directory.
 * opts: { records = 100_000, appends = 50, opens = 10, verifies = 3, log }.
 */
export async function auditBench(dist, work, opts = {}) {
  const { records = 100_000, appends = 50, opens = 10, verifies = 3, log = () => undefined } = opts;
  const audit = await import(pathToFileURL(path.join(dist, 'audit', 'index.js')).href);
  const checkpoint = await import(pathToFileURL(path.join(dist, 'audit', 'checkpoint.js')).href);
  const keys = await import(pathToFileURL(path.join(dist, 'keys', 'index.js')).href);
  const lib = { ...audit, encodeCheckpoint: checkpoint.encodeCheckpoint };

  const keyDir = path.join(work, 'audit-key');
  const pair = await keys.generateKeyPair(keyDir);
  const key = await keys.loadSigningKey(pair.privateKeyPath, { autoGenerate: false });
  const trusted = keys.trustedKeysOf([key.publicKey]);

  const emptyDir = path.join(work, 'audit-empty');
  const bigDir = path.join(work, 'audit-big');
  await mkdir(emptyDir, { recursive: true, mode: 0o700 });
  await mkdir(bigDir, { recursive: true, mode: 0o700 });
  const emptyLog = path.join(emptyDir, 'audit.log');
  const bigLog = path.join(bigDir, 'audit.log');

  log(`audit: building a ${records.toLocaleString('en-US')}-record log (signed with encodeRecord, checkpointed)`);
  const built = await buildLog(lib, bigLog, key, records);
  log(`audit: built ${(built.bytes / 1048576).toFixed(1)} MiB in ${(built.ms / 1000).toFixed(1)} s`);

  // Verify throughput (also proves the built log is valid before appending to it).
  // CPU time (this process, all threads: the verifier's workers included) alongside wall time,
  // so a loaded machine's figure can be read per CPU-second as well.
  const verifyMs = [];
  const verifyCpuMs = [];
  let verifiedRecords = 0;
  for (let i = 0; i < verifies; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const rep = await audit.verifyLogs({ logPaths: [bigLog], trusted });
    verifyMs.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    verifyCpuMs.push((c.user + c.system) / 1000);
    const lr = rep.logs[0];
    if (!rep.ok || !lr || lr.records !== records || lr.checkpoint !== 'ok') {
      throw new Error(`the generated ${records}-record log did not verify: ok=${rep.ok}, records=${lr?.records}, checkpoint=${lr?.checkpoint}, firstBad=${JSON.stringify(lr?.firstBad)}`);
    }
    verifiedRecords = lr.records;
    log(`audit: verify ${i + 1}/${verifies}: ${(verifyMs.at(-1) / 1000).toFixed(2)} s wall, ${(verifyCpuMs.at(-1) / 1000).toFixed(2)} s CPU`);
  }
  const vMed = median(verifyMs);
  const vCpuMed = median(verifyCpuMs);

  // Open cost (head validation), alternating empty / big.
  const openE = [];
  const openB = [];
  for (let i = 0; i < opens + 1; i++) {
    for (const [p, into] of [[emptyLog, openE], [bigLog, openB]]) {
      const t0 = performance.now();
      const w = await audit.openAuditLog({ logPath: p, key });
      await w.close();
      if (i > 0) into.push(performance.now() - t0);
    }
  }

  // Append cost: one writer per log, as a job holds one; alternate appends.
  const wE = await audit.openAuditLog({ logPath: emptyLog, key });
  const wB = await audit.openAuditLog({ logPath: bigLog, key });
  const appE = [];
  const appB = [];
  try {
    const warm = 3;
    for (let i = 0; i < appends + warm; i++) {
      const jobId = randomUUID();
      for (const [w, into] of [[wE, appE], [wB, appB]]) {
        const ev = resultEvent(jobId, i);
        const t0 = performance.now();
        await w.append(ev);
        if (i >= warm) into.push(performance.now() - t0);
      }
    }
  } finally {
    await wE.close();
    await wB.close();
  }
  const appendRatio = median(pairRatios(appE, appB));
  const openRatio = median(pairRatios(openE, openB));
  return {
    records,
    /** Records in the big log after the measured appends (what a later verify reads). */
    finalRecords: records + appends + 3,
    logBytes: built.bytes,
    buildMs: built.ms,
    verify: {
      runs: verifyMs.length,
      ms: summarize(verifyMs),
      cpuMs: summarize(verifyCpuMs),
      records: verifiedRecords,
      recordsPerSecond: verifiedRecords / (vMed / 1000),
      recordsPerCpuSecond: verifiedRecords / (vCpuMed / 1000),
    },
    open: { emptyMs: summarize(openE), bigMs: summarize(openB), ratioMedian: openRatio },
    append: { emptyMs: summarize(appE), bigMs: summarize(appB), ratioMedian: appendRatio, note: `the "empty" log starts empty and holds ${appends + 3} records by the end` },
    bigLog,
    publicKey: pair.publicKeyPath,
  };
}
