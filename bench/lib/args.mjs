/** Command-line flags of `npm run bench` (pure). */

export const CASES = ['1s-320x240', '10s-720p', '60s-1080p', '30s-wav', 'check', 'version', 'batch', 'rss', 'audit', 'parsers', 'flood'];
/** Cases --quick drops: the slow ones. */
export const SLOW = new Set(['60s-1080p']);

export const USAGE = `Usage: npm run bench -- [options]

  --runs N        measured A/B pairs per case after one warm-up pair (default 5)
  --json          print one JSON object on stdout (progress and the table go to stderr)
  --only A,B      run only these cases: ${CASES.join(', ')}
  --quick         skip the 60 s 1080p case and the 1 GiB input of the rss case
  --no-build      do not run \`npm run build\` first (dist/ must be current)
  --keep          keep the temporary work directory (outputs, audit log) and print its path
  -h, --help      this text
`;

export class UsageError extends Error {}

export function parseArgs(argv) {
  const o = { runs: 5, json: false, only: undefined, quick: false, build: true, keep: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${a} expects a value`);
      return v;
    };
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    switch (name) {
      case '--runs': {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 1000) throw new UsageError(`--runs expects a whole number from 1 to 1000, found "${v}"`);
        o.runs = n;
        break;
      }
      case '--json':
        o.json = true;
        break;
      case '--only': {
        const names = value().split(',').map((s) => s.trim()).filter(Boolean);
        const bad = names.filter((n) => !CASES.includes(n));
        if (bad.length > 0) throw new UsageError(`--only: unknown case ${bad.join(', ')}; known: ${CASES.join(', ')}`);
        o.only = new Set(names);
        break;
      }
      case '--quick':
        o.quick = true;
        break;
      case '--no-build':
        o.build = false;
        break;
      case '--keep':
        o.keep = true;
        break;
      case '-h':
      case '--help':
        o.help = true;
        break;
      default:
        throw new UsageError(`unknown option ${a}`);
    }
  }
  return o;
}

/** Whether a case runs under these options (--only wins over --quick for an explicitly named case). */
export function wanted(opts, name) {
  if (opts.only) return opts.only.has(name);
  return !(opts.quick && SLOW.has(name));
}
