/** The playlist-marker scan that rides along the sha256 pass: found anywhere, even split across reads. */
import { describe, it, expect } from 'vitest';
import { findMarkers } from '../../src/inspect/file.js';

function scanInChunks(data: Buffer, size: number): Map<string, number> {
  const seen = new Map<string, number>();
  let carry = Buffer.alloc(0);
  for (let pos = 0; pos < data.length; pos += size) {
    const chunk = data.subarray(pos, pos + size);
    findMarkers(chunk, pos, carry, seen);
    carry = Buffer.from(chunk.subarray(Math.max(0, chunk.length - 15)));
  }
  return seen;
}

describe('findMarkers', () => {
  const body = Buffer.concat([Buffer.alloc(1000, 0x23), Buffer.from('#EXTM3U\n#EXTINF:1,\nx\n'), Buffer.alloc(500, 1), Buffer.from('ffconcat version 1.0')]);
  // Reads are 1 MiB in practice; any read at least as long as the longest marker works.
  it.each([16, 64, 333, 1001, 1003, 4096])('finds every marker at its first offset with %i-byte reads', (size) => {
    const seen = scanInChunks(body, size);
    expect(seen.get('#EXTM3U')).toBe(1000);
    expect(seen.get('#EXTINF:')).toBe(1008);
    expect(seen.get('ffconcat version')).toBe(body.indexOf('ffconcat'));
    expect(seen.has('#EXT-X-')).toBe(false);
  });
  it('finds nothing in media-like bytes full of "#" and "#EX"', () => {
    const noise = Buffer.from('#EX#EXT#EXTM#EXTM3#EXT-X#EXTIN#'.repeat(100));
    expect(scanInChunks(noise, 100).size).toBe(0);
  });
  it('looks past near misses of the concat script marker ("ffco" is only where the search starts)', () => {
    const decoys = Buffer.from('ffcoffconffconcatffconcat ffconcat versiffconcat versioFFCONCAT VERSION'.repeat(40));
    expect(scanInChunks(decoys, 97).size).toBe(0);
    const real = Buffer.concat([decoys, Buffer.from('ffconcat version 1.0\n')]);
    for (const size of [16, 97, 4096]) expect(scanInChunks(real, size).get('ffconcat version')).toBe(decoys.length);
  });
});
