/**
 * Load a policy: read bytes once (hash them), parse YAML keeping positions, merge a bundled
 * parent when the policy `extends` one, validate against the shipped schema, check what the
 * claimed stage demands. Every problem is collected and reported with file:line:column.
 */
import { open, readFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../util/package-root.js';
import validate, { type GeneratedValidationError } from './validate.generated.js';
import { policyError, type PolicyDiagnostic } from './diagnostics.js';
import { ZtError, type Violation } from '../errors.js';
import { sha256Hex } from '../util/hash.js';
import { suggest } from '../util/suggest.js';
import { unmetStageRules } from './stage-rules.js';
import { identityConfigProblems } from '../identity/check.js';
import type { LoadedPolicy, Policy, Stage } from './types.js';
import { STAGES } from './types.js';

export const BUNDLED_DIR = path.join(PACKAGE_ROOT, 'policies');
export const DEFAULT_POLICY = 'advanced';


/**
 * Resolve what the user named (-p, ZT_FFMPEG_POLICY, or nothing) to a file path. A bundled
 * stage name always means the bundled policy, whatever lies in the current directory (another
 * user could have planted `./optimal` there); a file is named as a path: it contains a `/` or
 * ends in .yaml or .yml. Anything else is refused, never guessed.
 */
export function resolvePolicyPath(named: string | undefined): { path: string; bundled: boolean } {
  if (named === undefined || named === '') return { path: path.join(BUNDLED_DIR, `${DEFAULT_POLICY}.yaml`), bundled: true };
  if ((STAGES as readonly string[]).includes(named)) return { path: path.join(BUNDLED_DIR, `${named}.yaml`), bundled: true };
  if (named.includes('/') || /\.ya?ml$/i.test(named)) return { path: path.resolve(named), bundled: false };
  throw new ZtError('policy-invalid', `policy "${named}" is neither a bundled stage (${STAGES.join(', ')}) nor a path`, {
    hint: `to use a file, name it as a path: -p ./${named}`,
    details: { policy: named },
  });
}

export interface ParsedPolicyFile {
  readonly path: string;
  readonly bytes: Buffer;
  readonly data: Record<string, unknown>;
  readonly locate: (instancePath: readonly (string | number)[]) => { line: number; column: number };
}

/** A policy is a few KiB; anything over this is refused before it is parsed. */
export const MAX_POLICY_BYTES = 1024 * 1024;

/**
 * The policy's bytes, read once: a regular file (a FIFO or a device would block or never end;
 * it is opened without blocking and checked before any read) of at most MAX_POLICY_BYTES.
 */
async function readPolicyBytes(file: string): Promise<Buffer> {
  const cannot = (why: string, hint = 'pass an existing policy file with -p, or omit -p to use the bundled advanced policy'): ZtError => new ZtError('policy-invalid', `cannot read policy ${file}: ${why}`, { hint });
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw cannot((e as NodeJS.ErrnoException).code ?? 'error');
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw cannot('not a regular file');
    if (st.size > MAX_POLICY_BYTES) throw cannot(`it is ${st.size} bytes, more than the ${MAX_POLICY_BYTES} a policy may be`, 'a policy is a short YAML file; check that -p names the right file');
    const buf = Buffer.alloc(st.size + 1);
    let got = 0;
    for (let r = 1; r > 0 && got < buf.length; got += r) r = (await fh.read(buf, got, buf.length - got, got)).bytesRead;
    if (got > st.size) throw cannot(`it grew while being read, past ${st.size} bytes`);
    return buf.subarray(0, got);
  } catch (e) {
    if (e instanceof ZtError) throw e;
    throw cannot((e as NodeJS.ErrnoException).code ?? 'error');
  } finally {
    await fh.close();
  }
}

/**
 * Read and parse a policy file. `read` is how its bytes are fetched: by default a bounded,
 * non-blocking read of a regular file; the job's loader passes a reader that also checks the
 * file like a trust root (src/keys/trust-root.ts).
 */
export async function readPolicyFile(file: string, read: (file: string) => Promise<Buffer> = readPolicyBytes): Promise<ParsedPolicyFile> {
  let bytes: Buffer;
  try {
    bytes = await read(file);
  } catch (e) {
    if (e instanceof ZtError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new ZtError('policy-invalid', `cannot read policy ${file}: ${code}`, {
      hint: 'pass an existing policy file with -p, or omit -p to use the bundled advanced policy',
    });
  }
  const compiled = await compiledBundled(file, bytes);
  if (compiled) return compiled;
  const { parsePolicyText } = await import('./yaml-source.js');
  return parsePolicyText(file, bytes);
}

interface CompiledPolicy {
  readonly sha256: string;
  readonly data: Record<string, unknown>;
}

let compiledCache: Promise<Record<string, CompiledPolicy>> | undefined;

/**
 * The bundled policies ship pre-parsed (scripts/build.mjs): same package, same trust as the code.
 * Used only when the file is a bundled one and its bytes hash to exactly what was compiled; any
 * other file, or an edited one, is parsed from YAML.
 */
async function compiledBundled(file: string, bytes: Buffer): Promise<ParsedPolicyFile | undefined> {
  if (path.dirname(path.resolve(file)) !== path.resolve(BUNDLED_DIR)) return undefined;
  compiledCache ??= readFile(path.join(PACKAGE_ROOT, 'dist', 'policy', 'bundled-policies.generated.json'), 'utf8')
    .then((t) => JSON.parse(t) as Record<string, CompiledPolicy>)
    .catch(() => ({}));
  const entry = (await compiledCache)[path.basename(file)];
  if (!entry || entry.sha256 !== sha256Hex(bytes)) return undefined;
  const { parsePolicyText } = await import('./yaml-source.js').catch(() => ({ parsePolicyText: undefined }));
  return {
    path: file,
    bytes,
    data: structuredClone(entry.data),
    // Positions are needed only to report a problem; parse the YAML then.
    locate: (p) => (parsePolicyText ? parsePolicyText(file, bytes).locate(p) : { line: 1, column: 1 }),
  };
}

/**
 * Deep merge for `extends`: mappings merge key by key, everything else is replaced. Keys come
 * from the policy file: each is defined as an own property (never assigned), so a key named
 * `__proto__`, `constructor` or `prototype` stays a key the schema reports as unknown and cannot
 * give the merged policy a prototype whose fields would take effect.
 */
export function mergePolicy(parent: unknown, child: unknown): unknown {
  if (isPlainObject(parent) && isPlainObject(child)) {
    const out: Record<string, unknown> = {};
    const define = (k: string, v: unknown): void => void Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    for (const [k, v] of Object.entries(parent)) define(k, v);
    for (const [k, v] of Object.entries(child)) define(k, Object.hasOwn(parent, k) ? mergePolicy(parent[k], v) : v);
    return out;
  }
  return child;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function splitPointer(instancePath: string): (string | number)[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describeError(e: GeneratedValidationError): { path: (string | number)[]; message: string } {
  const p = splitPointer(e.instancePath);
  const dotted = p.join('.');
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = String(e.params['additionalProperty']);
      return { path: [...p, extra], message: `unknown field "${extra}"${dotted ? ` in ${dotted}` : ''}` };
    }
    case 'required':
      return { path: p, message: `missing required field "${String(e.params['missingProperty'])}"${dotted ? ` in ${dotted}` : ''}` };
    case 'enum':
      return { path: p, message: `expected one of ${JSON.stringify(e.params['allowedValues'])}` };
    case 'const':
      return { path: p, message: `expected ${JSON.stringify(e.params['allowedValue'])}` };
    default:
      return { path: p, message: `${e.message ?? e.keyword}` };
  }
}

function knownKeysAt(p: readonly (string | number)[], shape: unknown): string[] {
  let node: unknown = shape;
  for (const seg of p) node = isPlainObject(node) && Object.hasOwn(node, String(seg)) ? node[String(seg)] : undefined;
  return isPlainObject(node) ? Object.keys(node) : [];
}

/** At most this many problems are located and listed; the rest are counted (locating costs a walk of the document each). */
export const MAX_REPORTED_PROBLEMS = 100;

/** Validate parsed data as a complete policy; collects every problem. `referenceShape` is read once, and only if a key is unknown. */
export function validatePolicyData(parsed: ParsedPolicyFile, data: unknown, referenceShape: unknown): Policy {
  const diagnostics: PolicyDiagnostic[] = [];
  let shape: unknown;
  let shapeRead = false;
  const reference = (): unknown => {
    if (!shapeRead) [shape, shapeRead] = [typeof referenceShape === 'function' ? (referenceShape as () => unknown)() : referenceShape, true];
    return shape;
  };
  if (!validate(data)) {
    const errors = validate.errors ?? [];
    if (errors.length > MAX_REPORTED_PROBLEMS) {
      diagnostics.push({ file: parsed.path, line: 1, column: 1, path: '', message: `${errors.length} problems; the first ${MAX_REPORTED_PROBLEMS} are listed` });
    }
    for (const err of errors.slice(0, MAX_REPORTED_PROBLEMS)) {
      const { path: p, message } = describeError(err);
      let msg = message;
      if (err.keyword === 'additionalProperties') {
        const parentPath = p.slice(0, -1);
        const hint = suggest(String(p[p.length - 1]), knownKeysAt(parentPath, reference()));
        if (hint) msg += ` (did you mean "${hint}"?)`;
      }
      const { line, column } = parsed.locate(p);
      diagnostics.push({ file: parsed.path, line, column, path: p.join('.'), message: msg });
    }
  }
  if (diagnostics.length === 0) {
    const policy = data as Policy;
    for (const v of identityConfigProblems(policy.identity, policy.authorization)) {
      const section = v.rule.startsWith('authorization') ? 'authorization' : 'identity';
      const { line, column } = parsed.locate([section]);
      diagnostics.push({ file: parsed.path, line, column, path: v.rule, message: `${v.message}${v.hint ? ` (${v.hint})` : ''}` });
    }
    for (const rule of unmetStageRules(policy)) {
      const { line, column } = parsed.locate(['stage']);
      diagnostics.push({ file: parsed.path, line, column, path: 'stage', message: `stage "${policy.stage}" demands that ${rule.describe} (${rule.id})` });
    }
  }
  if (diagnostics.length > 0) throw policyError(parsed.path, diagnostics);
  return data as Policy;
}

export async function loadBundledData(stage: Stage): Promise<Record<string, unknown>> {
  return (await readPolicyFile(path.join(BUNDLED_DIR, `${stage}.yaml`))).data;
}

export interface LoadOptions {
  /** Verifies a policy's detached signature; injected so the loader stays free of key handling. */
  readonly verifySignature?: (loaded: { path: string; bytes: Buffer; policy: Policy }) => Promise<string | undefined>;
  /** Reads a policy file that is not bundled (a job reads it as a trust root). */
  readonly read?: (file: string) => Promise<Buffer>;
}

export async function loadPolicy(named: string | undefined, opts: LoadOptions = {}): Promise<LoadedPolicy> {
  const { path: file, bundled } = resolvePolicyPath(named);
  const parsed = await readPolicyFile(file, bundled ? undefined : opts.read);
  // The bundled optimal policy names every field; it is read only to suggest a fix for a typo.
  const referenceText = await readFile(path.join(BUNDLED_DIR, 'optimal.yaml'));
  const { parsePolicyText } = await import('./yaml-source.js');
  const reference = (): unknown => parsePolicyText('optimal.yaml', referenceText).data;
  let data: unknown = parsed.data;
  let parentData: Record<string, unknown> | undefined;
  const parent = parsed.data['extends'];
  if (typeof parent === 'string') {
    if (!(STAGES as readonly string[]).includes(parent)) {
      const { line, column } = parsed.locate(['extends']);
      throw policyError(file, [{ file, line, column, path: 'extends', message: `expected one of ${JSON.stringify(STAGES)}, found "${parent}"` }]);
    }
    parentData = await loadBundledData(parent as Stage);
    data = mergePolicy(parentData, parsed.data);
  }
  const policy = validatePolicyData(parsed, data, reference);
  if (parentData !== undefined && policy.allowLoosening !== true) {
    // A policy that extends a stage may only tighten it, unless it says otherwise explicitly.
    const { diffPolicies } = await import('./diff.js');
    const looser = diffPolicies(parentData as unknown as Policy, policy).rules.filter((r) => r.b === 'looser' || r.b === 'incomparable');
    if (looser.length > 0) {
      const diagnostics = looser.map((r) => {
        const { line, column } = parsed.locate(r.rule.split('.'));
        return { file, line, column, path: r.rule, message: `${r.b === 'looser' ? 'looser than' : 'not comparable with'} the extended "${String(parent)}" stage: ${r.note} (an extending policy may only tighten; set allowLoosening: true to accept)` };
      });
      throw policyError(file, diagnostics);
    }
  }
  const signedBy = opts.verifySignature ? await opts.verifySignature({ path: file, bytes: parsed.bytes, policy }) : undefined;
  return { policy, path: file, sha256: sha256Hex(parsed.bytes), bundled, ...(signedBy ? { signedBy } : {}) };
}

export type { Violation };
