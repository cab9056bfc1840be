/**
 * Parsing a policy's YAML while keeping positions, so every problem can be reported as
 * file:line:column. Loaded only when a policy has to be parsed (or a problem located).
 */
import { LineCounter, parseDocument, isMap, isSeq, type Node as YamlNode } from 'yaml';
import { policyError, type PolicyDiagnostic } from './diagnostics.js';
import type { ParsedPolicyFile } from './load.js';

export function parsePolicyText(file: string, bytes: Buffer): ParsedPolicyFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(bytes.toString('utf8'), { lineCounter, prettyErrors: false, uniqueKeys: true });
  const diagnostics: PolicyDiagnostic[] = doc.errors.map((err) => {
    const pos = lineCounter.linePos(err.pos[0]);
    return { file, line: pos.line, column: pos.col, path: '', message: err.message.split('\n')[0] ?? err.message };
  });
  if (diagnostics.length > 0) throw policyError(file, diagnostics);
  const data: unknown = doc.toJS({ maxAliasCount: 10 });
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

