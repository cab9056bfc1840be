/**
 * Spawning for the benchmark: one process, no shell, a timeout, wall time measured from just
 * before spawn() to the 'close' event (all stdio drained), and optionally the child's own peak
 * RSS (VmHWM) polled from /proc while it runs.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { parseProcStatusMemory } from './stats.mjs';

const TAIL = 8192;

export const GNU_TIME = '/usr/bin/time';

/**
 * Run `file args` and resolve (never reject) with
 * { ms, code, signal, timedOut, spawnError, stdout, stderrTail, peakHwm, cpuMs }.
 * stdout is kept only when opts.captureStdout (for --json); stderr's tail always.
 * With opts.cpuFile the command runs under GNU time (-o cpuFile), and cpuMs is the user+system
 * CPU time of the process and every descendant it waited for (10 ms resolution). Not with
 * sampleMemoryMs: the polled process would then be time(1), not the command.
 */
export function timedRun(file, args, opts = {}) {
  const { env = { PATH: '/usr/bin:/bin' }, cwd, timeoutMs = 600_000, captureStdout = false, sampleMemoryMs, cpuFile } = opts;
  if (cpuFile && sampleMemoryMs) throw new Error('timedRun: cpuFile and sampleMemoryMs cannot be combined');
  if (cpuFile) {
    args = ['-o', cpuFile, '-f', '%U %S', file, ...args];
    file = GNU_TIME;
  }
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let peakHwm;
    let timedOut = false;
    let spawnError;
    const t0 = performance.now();
    const child = spawn(file, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      if (captureStdout) stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-TAIL);
    });
    const sample = () => {
      if (child.pid === undefined) return;
      try {
        const m = parseProcStatusMemory(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m.hwm !== undefined) peakHwm = Math.max(peakHwm ?? 0, m.hwm);
      } catch {
        // gone already (or a zombie without memory lines): keep the last value
      }
    };
    const sampler = sampleMemoryMs ? setInterval(sample, sampleMemoryMs) : undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      spawnError = e.message;
    });
    child.on('close', (code, signal) => {
      const ms = performance.now() - t0;
      clearTimeout(timer);
      if (sampler) clearInterval(sampler);
      let cpuMs;
      if (cpuFile) {
        try {
          const m = /^\s*([\d.]+)\s+([\d.]+)\s*$/m.exec(readFileSync(cpuFile, 'utf8'));
          if (m) cpuMs = (Number(m[1]) + Number(m[2])) * 1000;
          rmSync(cpuFile, { force: true });
        } catch {
          // no figure: leave cpuMs undefined
        }
      }
      resolve({ ms, code, signal, timedOut, spawnError, stdout, stderrTail: stderr, peakHwm, cpuMs });
    });
  });
}

/** A short human reason for a failed run, or undefined when it succeeded. */
export function failureOf(r, what) {
  if (r.spawnError) return `${what}: could not start: ${r.spawnError}`;
  if (r.timedOut) return `${what}: timed out after ${Math.round(r.ms / 1000)} s (killed)`;
  if (r.code !== 0) {
    const tail = r.stderrTail.trim().split('\n').slice(-4).join(' | ').slice(0, 600);
    return `${what}: exit ${r.code ?? r.signal}: ${tail}`;
  }
  return undefined;
}
