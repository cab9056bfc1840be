/**
 * The fuzz regression corpus (test/fuzz/corpus/<target>/), replayed through each target's
 * invariants: every crash or bypass a campaign found stays fixed. Budgets are not applied here
 * (no timed assertions in the tests); `npm run fuzz:ci` runs a short campaign with them.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusFiles } from './corpus.js';
import { allTargets } from './targets/index.js';

describe('the fuzz regression corpus', () => {
  for (const target of allTargets()) {
    it(`${target.name}: every saved input passes the invariants`, async () => {
      const files = await corpusFiles(target.name);
      if (files.length === 0) return;
      await target.setup?.();
      try {
        for (const f of files) {
          const finding = await target.check(target.decode(await readFile(f)));
          expect(finding, `${target.name}/${path.basename(f)}`).toBeUndefined();
        }
      } finally {
        await target.teardown?.();
      }
    });
  }
});
