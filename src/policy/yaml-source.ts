/**
 * Parsing a policy's YAML while keeping positions, so every problem can be reported as
 * file:line:column. Loaded only when a policy has to be parsed (or a problem located).
 */
import { LineCounter, parseDocument, isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node as YamlNode } from 'yaml';
import { policyError, type PolicyDiagnostic } from './diagnostics.js';
import type { ParsedPolicyFile } from './load.js';

/** Nesting deeper than this is refused (a policy nests 5 levels; YAML parsers recurse). */
export const MAX_POLICY_DEPTH = 32;
/** How many times the document may expand one alias (an alias bomb expands exponentially). */
const MAX_ALIAS_COUNT = 10;

/**
 * The document's shape, checked without recursion and in linear time (the yaml library's own
 * uniqueKeys check compares every pair of keys of a mapping: 50,000 keys took 44 s): nesting
 * at most MAX_POLICY_DEPTH, mapping keys plain scalars, no key twice in one mapping.
 */
function shapeProblem(doc: Document): { offset: number; message: string } | undefined {
  const stack: Array<[unknown, number]> = [[doc.contents, 1]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [node, depth] = item;
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth > MAX_POLICY_DEPTH) return { offset: node.range?.[0] ?? 0, message: `nesting deeper than ${MAX_POLICY_DEPTH} levels (a policy nests at most ${MAX_POLICY_DEPTH})` };
    const keys = new Set<string>();
    for (const it of node.items as unknown[]) {
      if (!isPair(it)) {
        stack.push([it, depth + 1]);
        continue;
      }
      if (isMap(node)) {
        const key: unknown = it.key;
        const offset = (key as { range?: [number, number, number] } | null)?.range?.[0] ?? node.range?.[0] ?? 0;
        if (!isScalar(key) || (typeof key.value === 'object' && key.value !== null)) return { offset, message: 'a mapping key must be a plain scalar' };
        const name = String(key.value);
        if (keys.has(name)) return { offset, message: `Map keys must be unique ("${name.slice(0, 64)}" appears twice)` };
        keys.add(name);
      } else {
        stack.push([it.key, depth + 1]);
      }
      stack.push([it.value, depth + 1]);
    }
  }
  return undefined;
}

function firstAliasOffset(doc: Document): number {
  const stack: unknown[] = [doc.contents];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (isAlias(node)) return node.range?.[0] ?? 0;
    if (isMap(node) || isSeq(node)) for (const it of node.items as unknown[]) stack.push(...(isPair(it) ? [it.key, it.value] : [it]));
  }
  return 0;
}

/** YAML syntax errors listed (the rest are counted): one broken line can cascade into thousands. */
const MAX_SYNTAX_PROBLEMS = 20;

const TOO_DEEP = `nesting too deep to parse (a policy nests at most ${MAX_POLICY_DEPTH} levels)`;

export function parsePolicyText(file: string, bytes: Buffer): ParsedPolicyFile {
  const lineCounter = new LineCounter();
  const at = (offset: number, message: string): PolicyDiagnostic => {
    const pos = lineCounter.linePos(offset);
    return { file, line: pos.line, column: pos.col, path: '', message };
  };
  let doc: Document;
  try {
    doc = parseDocument(bytes.toString('utf8'), { lineCounter, prettyErrors: false, uniqueKeys: false });
  } catch (e) {
    // The parser recurses on nested block collections; a stack overflow escapes it.
    if (e instanceof RangeError) throw policyError(file, [{ file, line: 1, column: 1, path: '', message: TOO_DEEP }]);
    throw e;
  }
  // A stack overflow the parser caught itself is reported once: where it struck depends on the
  // caller's stack, and the report must not.
  const overflow = doc.errors.find((err) => /call stack/.test(err.message));
  if (overflow) throw policyError(file, [at(overflow.pos[0], TOO_DEEP)]);
  const diagnostics: PolicyDiagnostic[] = doc.errors.slice(0, MAX_SYNTAX_PROBLEMS).map((err) => at(err.pos[0], err.message.split('\n')[0] ?? err.message));
  if (doc.errors.length > MAX_SYNTAX_PROBLEMS) diagnostics.push(at(0, `and ${doc.errors.length - MAX_SYNTAX_PROBLEMS} more syntax errors`));
  if (diagnostics.length > 0) throw policyError(file, diagnostics);
  const shape = shapeProblem(doc);
  if (shape) throw policyError(file, [at(shape.offset, shape.message)]);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    // yaml throws a ReferenceError for an alias that expands too often (an alias bomb).
    const why = e instanceof ReferenceError ? `aliases expand too often (more than ${MAX_ALIAS_COUNT} uses of one anchor's contents): an alias bomb` : `cannot be turned into data: ${e instanceof Error ? e.message : String(e)}`;
    throw policyError(file, [at(firstAliasOffset(doc), `the YAML ${why}`)]);
  }
  const locate = (p: readonly (string | number)[]): { line: number; column: number } => {
    for (let n = p.length; n >= 0; n--) {
      const node = doc.getIn(p.slice(0, n), true) as YamlNode | undefined;
      const range = node && typeof node === 'object' && 'range' in node ? node.range : undefined;
      if (range) {
        // Point at the key of a mapping entry rather than its value when we can.
        const pos = lineCounter.linePos(keyOffset(doc.contents, p.slice(0, n)) ?? range[0]);
        return { line: pos.line, column: pos.col };
      }
    }
    return { line: 1, column: 1 };
  };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw policyError(file, [{ file, line: 1, column: 1, path: '', message: 'a policy must be a YAML mapping (key: value lines)' }]);
  }
  return { path: file, bytes, data: data as Record<string, unknown>, locate };
}

function keyOffset(root: unknown, p: readonly (string | number)[]): number | undefined {
  let node: unknown = root;
  let offset: number | undefined;
  for (const seg of p) {
    if (isMap(node)) {
      const pair = node.items.find((it) => (it.key as { value?: unknown } | null)?.value === seg);
      if (!pair) return undefined;
      offset = (pair.key as { range?: [number, number, number] } | null)?.range?.[0];
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      offset = (node as { range?: [number, number, number] } | undefined)?.range?.[0];
    } else return undefined;
  }
  return offset;
}

