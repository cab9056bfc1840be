// Loads the CLI bundle (dist/bundle/cli.cjs) for bin/zt-ffmpeg, with V8's code cache that the
// build wrote beside it (scripts/code-cache.cjs): it saves parsing and compiling two MB of
// JavaScript on every job. A code cache is code, so it is used only when it was made from
// exactly this source (its sha256 prefix; V8 itself checks little more than the length) and no
// one but the code's owner (or root) can have written it or any directory above it, as ssh's
// StrictModes treats a key file; otherwise V8 compiles the source as if there were no cache.
// ZT_FFMPEG_NO_CODE_CACHE=1 skips the cache.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const crypto = require('node:crypto');
const Module = require('node:module');
const { isAscii } = require('node:buffer');

/** Writable by no one but `owner` or root; a sticky directory counts (others cannot rename what is in it). */
function onlyOwnerWrites(st, owner) {
  return (st.uid === owner || st.uid === 0) && ((st.mode & 0o022) === 0 || (st.isDirectory() && (st.mode & 0o1000) !== 0));
}

/** The V8 data of `${file}.cache` if it may be used for `source` (its text or bytes; owned by `owner`), else undefined with the reason. */
function trustedCache(file, owner, source) {
  try {
    for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
      if (!onlyOwnerWrites(fs.statSync(dir), owner)) return { reason: `${dir} is writable by others than uid ${owner}` };
      if (path.dirname(dir) === dir) break;
    }
    const fd = fs.openSync(`${file}.cache`, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) return { reason: 'not a regular file' };
      if (st.uid !== owner || (st.mode & 0o022) !== 0) return { reason: `owned by uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}: writable by others than the code's owner` };
      // The build writes a fresh file: a second name would be another way to its bytes.
      if (st.nlink !== 1) return { reason: `${st.nlink} links` };
      const data = fs.readFileSync(fd);
      const digest = crypto.createHash('sha256').update(source).digest('hex');
      if (data.subarray(0, 64).toString('latin1') !== digest) return { reason: 'made from another source' };
      return { data: data.subarray(64) };
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    return { reason: e && e.code ? e.code : 'unreadable' };
  }
}

/** The CLI's main(), or undefined when there is no cli.cjs (the caller falls back to the ES bundle). */
function loadCli(file) {
  let bytes;
  let owner;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      owner = fs.fstatSync(fd).uid;
      bytes = fs.readFileSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  // The bundle is ASCII (esbuild escapes the rest), and ASCII read as Latin-1 is the same text:
  // that decoding is a plain copy, where UTF-8 decoding of the 1 MB took about 1.5 ms more. The
  // digest is taken of the bytes, which are the UTF-8 the cache's digest was made from.
  const source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
  const cache = process.env.ZT_FFMPEG_NO_CODE_CACHE === '1' ? undefined : trustedCache(file, owner, bytes).data;
  const script = new vm.Script(Module.wrap(source), { filename: file, ...(cache ? { cachedData: cache } : {}) });
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, Module.createRequire(file), module, file, path.dirname(file));
  return module.exports.main;
}

module.exports = { loadCli, trustedCache };
