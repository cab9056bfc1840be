#!/usr/bin/env node
// Generate man/zt-ffmpeg.1 from the same commander definitions `--help` prints (the hidden
// `zt-ffmpeg man` command renders them). Run after `npm run build`:
//   node scripts/gen-man.mjs            write man/zt-ffmpeg.1
//   node scripts/gen-man.mjs --check    exit 1 when man/zt-ffmpeg.1 is out of date
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const out = path.join(root, 'man', 'zt-ffmpeg.1');
const check = process.argv.includes('--check');
// Keep the committed date unless the content changes, so the page is reproducible.
const previous = existsSync(out) ? readFileSync(out, 'utf8') : '';
const prevDate = /^\.TH \S+ 1 "(\d{4}-\d{2}-\d{2})"/m.exec(previous)?.[1];
const render = (date) =>
  execFileSync(process.execPath, [path.join(root, 'bin', 'zt-ffmpeg'), 'man', '--date', date], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', NO_COLOR: '1', HOME: root }, timeout: 30_000 });
let page = render(prevDate ?? new Date().toISOString().slice(0, 10));
if (page !== previous && prevDate) page = render(new Date().toISOString().slice(0, 10));
if (check) {
  if (page.replace(/^\.TH .*$/m, '') !== previous.replace(/^\.TH .*$/m, '')) {
    process.stderr.write('man/zt-ffmpeg.1 is out of date: run `npm run build && node scripts/gen-man.mjs`\n');
    process.exit(1);
  }
  process.exit(0);
}
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, page);
process.stdout.write(`wrote ${path.relative(root, out)}\n`);
