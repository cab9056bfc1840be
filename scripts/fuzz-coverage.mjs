/**
 * Line coverage of the fuzzed parsers, from the V8 coverage a campaign run wrote
 * (NODE_V8_COVERAGE): block ranges applied outer to inner onto each transpiled module, mapped
 * through its source map back to the TypeScript lines. A source line counts once it maps to
 * code; it is covered if any code mapped to it ran.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

function countsOf(code, functions) {
  const counts = new Int32Array(code.length).fill(-1);
  const ranges = functions.flatMap((f) => f.ranges).sort((a, b) => a.startOffset - b.startOffset || b.endOffset - a.endOffset);
  for (const r of ranges) counts.fill(r.count, r.startOffset, Math.min(code.length, r.endOffset));
  return counts;
}

/** { covered, total, uncovered: line numbers } of the original source, through the map. */
function sourceLines(jsPath, functions) {
  const code = readFileSync(jsPath, 'utf8');
  const map = new SourceMap(JSON.parse(readFileSync(`${jsPath}.map`, 'utf8')));
  const counts = countsOf(code, functions);
  const status = new Map();
  let offset = 0;
  code.split('\n').forEach((line, i) => {
    const col = line.search(/\S/);
    if (col >= 0) {
      const e = map.findEntry(i, col);
      if (e && e.generatedLine === i && e.originalLine !== undefined) {
        const ran = (counts[offset + col] ?? -1) > 0;
        status.set(e.originalLine + 1, (status.get(e.originalLine + 1) ?? false) || ran);
      }
    }
    offset += line.length + 1;
  });
  const covered = [...status.values()].filter(Boolean).length;
  return { covered, total: status.size, uncovered: [...status].filter(([, ran]) => !ran).map(([l]) => l).sort((a, b) => a - b) };
}

export async function coverageReport(covDir, buildDir, root) {
  if (!existsSync(covDir)) return 'no coverage was written\n';
  const byUrl = new Map();
  for (const f of readdirSync(covDir).filter((x) => x.endsWith('.json'))) {
    for (const s of JSON.parse(readFileSync(path.join(covDir, f), 'utf8')).result ?? []) {
      if (s.url.startsWith(pathToFileURL(path.join(buildDir, 'src')).href)) byUrl.set(s.url, [...(byUrl.get(s.url) ?? []), ...s.functions]);
    }
  }
  const { allTargets } = await import(pathToFileURL(path.join(buildDir, 'test', 'fuzz', 'targets', 'index.js')).href);
  const lines = ['', 'coverage of the parsers (TypeScript lines that map to code, covered by the campaign)'];
  const seen = new Set();
  for (const t of allTargets()) {
    for (const src of t.sources) {
      if (seen.has(src)) continue;
      seen.add(src);
      const url = pathToFileURL(path.join(buildDir, src.replace(/\.ts$/, '.js'))).href;
      const fns = byUrl.get(url);
      if (!fns) {
        lines.push(`  ${src.padEnd(38)} not loaded`);
        continue;
      }
      const c = sourceLines(fileURLToPath(url), fns);
      const pct = c.total === 0 ? 100 : (100 * c.covered) / c.total;
      lines.push(`  ${src.padEnd(38)} ${pct.toFixed(1).padStart(5)} %  ${String(c.covered).padStart(4)}/${String(c.total).padEnd(4)} ${t.name}`);
    }
  }
  void root;
  return `${lines.join('\n')}\n`;
}
