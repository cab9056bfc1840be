/** The committed regression corpus: test/fuzz/corpus/<target>/<sha256 prefix>.<ext>. */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The corpus directory of the source tree (also when this module runs transpiled under .tmp/fuzz-build-<pid>/). */
export function corpusDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.join(here.replace(/[\\/]\.tmp[\\/]fuzz-build[^\\/]*/, ''), 'corpus');
}

export async function saveToCorpus(target: string, ext: string, bytes: Buffer): Promise<string> {
  const dir = path.join(corpusDir(), target);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.${ext}`);
  await writeFile(file, bytes);
  return file;
}

export async function corpusFiles(target: string): Promise<string[]> {
  const dir = path.join(corpusDir(), target);
  try {
    return (await readdir(dir)).filter((f) => !f.startsWith('.') && !f.endsWith('.md')).sort().map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

export { readFile };
