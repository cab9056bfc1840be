/**
 * Where a token comes from: --token, --token-file or ZT_FFMPEG_TOKEN (in that order of
 * precedence; --token and --token-file together are a usage error). The token itself is never
 * logged or recorded.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { ZtError } from '../errors.js';

export const TOKEN_ENV_VAR = 'ZT_FFMPEG_TOKEN';
const MAX_TOKEN_FILE_BYTES = 16 * 1024;

export interface TokenInput {
  readonly token: string;
  readonly source: 'flag' | 'file' | 'env';
}

export interface TokenSources {
  readonly flag?: string;
  readonly file?: string;
  /** Value of ZT_FFMPEG_TOKEN from the allow-listed environment. */
  readonly env?: string;
}

async function readTokenFile(file: string): Promise<string> {
  let fh;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below as not a regular file.
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e: unknown) {
    throw new ZtError('usage', `--token-file ${file} cannot be opened (${(e as NodeJS.ErrnoException).code ?? 'error'})`, {
      hint: 'pass the path of a file holding the JWT',
      cause: e,
    });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ZtError('usage', `--token-file ${file} is not a regular file`, { hint: 'pass the path of a file holding the JWT' });
    if (st.size > MAX_TOKEN_FILE_BYTES) {
      throw new ZtError('usage', `--token-file ${file} is ${st.size} bytes, more than ${MAX_TOKEN_FILE_BYTES}`, { hint: 'the file must hold one JWT' });
    }
    const buf = Buffer.alloc(MAX_TOKEN_FILE_BYTES + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

/** The presented token, or undefined when none was presented. */
export async function readTokenInput(src: TokenSources): Promise<TokenInput | undefined> {
  if (src.flag !== undefined && src.file !== undefined) {
    throw new ZtError('usage', '--token and --token-file were both given', { hint: 'pass the token one way only' });
  }
  if (src.flag !== undefined) return { token: src.flag.trim(), source: 'flag' };
  if (src.file !== undefined) return { token: (await readTokenFile(src.file)).trim(), source: 'file' };
  if (src.env !== undefined && src.env.trim() !== '') return { token: src.env.trim(), source: 'env' };
  return undefined;
}
