/**
 * `zt-ffmpeg policy init --stage NAME [--out FILE]`: a starting policy that extends a bundled
 * stage. Its `$schema` modeline points at the schema of the installed package, relative to
 * where the file is written (as editors resolve it), so completion and checking work wherever
 * the policy lives, not only inside this repository.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { SCHEMA_PATH } from './policy.js';
import { loadPolicy } from '../../policy/load.js';
import { JSON_SCHEMA_VERSION } from '../render.js';
import type { CommandContext } from '../context.js';
import { EXIT, ZtError, type ExitCode } from '../../errors.js';
import type { Stage } from '../../policy/types.js';

const NEXT_STEPS: Readonly<Record<Stage, string>> = {
  initial: '#   zt-ffmpeg policy validate FILE      then: zt-ffmpeg run -p FILE -i IN -o OUT',
  advanced: '#   zt-ffmpeg policy validate FILE      then: zt-ffmpeg run -p FILE -i IN -o OUT',
  optimal: [
    '#   the optimal stage needs, beside this file: keyring/ with the policy signer\'s and the audit',
    '#   key\'s .pub files and keyring/issuer.jwks.json (zt-ffmpeg keygen --name issuer --jwks), then',
    '#   zt-ffmpeg policy pin FILE && zt-ffmpeg policy sign FILE --key signer.key',
    '#   (the whole path, step by step: docs/optimal.md in the package)',
  ].join('\n'),
};

/** Pure: the text of a starting policy; `schemaRef` is what the modeline names. */
export function starterPolicy(stage: Stage, schemaRef: string): string {
  return [
    `# yaml-language-server: $schema=${schemaRef}`,
    '#',
    `# A zt-ffmpeg policy that starts from the bundled "${stage}" stage. Everything not written here`,
    `# is the stage's (see it with: zt-ffmpeg policy show ${stage}). A rule may only be tightened:`,
    '# a looser one is refused unless you add `allowLoosening: true` (and `policy diff` names it).',
    '# Next:',
    NEXT_STEPS[stage],
    'apiVersion: zt-ffmpeg/v1',
    `extends: ${stage}`,
    `stage: ${stage}`,
    'mode: enforce',
    `description: Starts from the bundled ${stage} stage.`,
    '',
    '# For example, accept smaller inputs only:',
    '# input:',
    '#   maxBytes: 1073741824',
    '',
  ].join('\n');
}

export async function policyInitCommand(ctx: CommandContext, flags: { stage: string; out?: string }): Promise<ExitCode> {
  const stage = flags.stage as Stage;
  if (flags.out === undefined) {
    ctx.io.out(starterPolicy(stage, SCHEMA_PATH));
    return EXIT.ok;
  }
  const out = path.resolve(flags.out);
  const text = starterPolicy(stage, path.relative(path.dirname(out), SCHEMA_PATH));
  let fh;
  try {
    fh = await open(out, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new ZtError('usage', `cannot create ${out}: ${code === 'EEXIST' ? 'it exists' : code}`, { hint: 'choose a new --out file; policy init never overwrites one' });
  }
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
  // What was written must load (schema, merge, tighten-only); the optimal stage's signature comes later.
  const loaded = await loadPolicy(out);
  if (ctx.io.json) ctx.io.emitJson({ schemaVersion: JSON_SCHEMA_VERSION, command: 'policy init', exitCode: EXIT.ok, path: out, stage, sha256: loaded.sha256, schema: SCHEMA_PATH });
  else ctx.io.info(`${ctx.io.style.green('✓ wrote')} ${out} (extends ${stage}; $schema ${path.relative(path.dirname(out), SCHEMA_PATH)})`);
  return EXIT.ok;
}
