#!/usr/bin/env node
// Build step (scripts/build.mjs runs it in a child process): compile dist/bundle/cli.cjs with
// every function compiled eagerly and write V8's code cache for it to cli.cjs.cache, prefixed
// with the sha256 of the source it was made from. bin/zt-ffmpeg uses the cache only when that
// digest matches the source it loads (V8 itself checks little more than the source's length)
// and the cache is no more writable than the code; otherwise it compiles, as without a cache.
'use strict';
const fs = require('node:fs');
const vm = require('node:vm');
const v8 = require('node:v8');
const crypto = require('node:crypto');
const Module = require('node:module');

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node scripts/code-cache.cjs DIST/bundle/cli.cjs\n');
  process.exit(2);
}
const source = fs.readFileSync(file, 'utf8');
// Eager compilation only while this script is compiled; the flags are back to the defaults
// before the cache is serialised, so V8's flag check accepts it in a normal process.
v8.setFlagsFromString('--no-lazy');
const script = new vm.Script(Module.wrap(source), { filename: file });
v8.setFlagsFromString('--lazy');
const digest = crypto.createHash('sha256').update(source).digest('hex');
fs.writeFileSync(`${file}.cache`, Buffer.concat([Buffer.from(digest, 'latin1'), script.createCachedData()]), { mode: 0o644 });
