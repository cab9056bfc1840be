/**
 * The installed package's root directory (where policies/ and schema/ ship), found by walking up
 * from this module, so it holds whether the code runs from dist/ or from the single-file bundle.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'zt-ffmpeg') return dir;
      } catch {
        /* keep looking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('internal error: cannot find the zt-ffmpeg package root');
    dir = up;
  }
}

export const PACKAGE_ROOT = findRoot();
