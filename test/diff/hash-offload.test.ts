/** diff/hash-offload: a layer's SHA-256, in place while small, on the hashing thread once big. */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LayerHash } from '../../diff/hash-offload.js';

const sha = (parts: readonly Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return `sha256:${h.digest('hex')}`;
};

function blocks(count: number, size: number): Buffer[] {
  return Array.from({ length: count }, () => randomBytes(size));
}

describe('LayerHash', () => {
  it('gives the same digest in place, across the switch, and on the thread', async () => {
    const parts = blocks(12, 1000);
    for (const limit of [1_000_000, 3500, 0]) {
      const h = new LayerHash(limit);
      for (const p of parts) h.update(p);
      expect(await h.digest()).toBe(sha(parts));
    }
    expect(await new LayerHash(0).digest()).toBe(sha([]));
  });

  it('keeps interleaved layers apart', async () => {
    const a = blocks(20, 4096);
    const b = blocks(15, 3000);
    const ha = new LayerHash(10_000);
    const hb = new LayerHash(10_000);
    for (let i = 0; i < 20; i++) {
      ha.update(a[i] as Buffer);
      if (i < 15) hb.update(b[i] as Buffer);
    }
    const dropped = new LayerHash(0);
    dropped.update(Buffer.from('never digested'));
    dropped.drop();
    const [da, db] = await Promise.all([ha.digest(), hb.digest()]);
    expect(da).toBe(sha(a));
    expect(db).toBe(sha(b));
  });

  it('hashes a copy: a buffer changed after it was given does not change the digest', async () => {
    const h = new LayerHash(0);
    h.update(Buffer.from('a')); // moves to the thread
    const later = Buffer.from('bcd');
    h.update(later);
    later.fill(0);
    expect(await h.digest()).toBe(sha([Buffer.from('abcd')]));
  });
});
