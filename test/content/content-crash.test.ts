/**
 * Crash safety of the local content store: a child process writes blobs through the compiled store
 * (dist/, so run `npm run build` first) and is SIGKILLed at 50 seeded random moments. After every kill
 * nothing half-written is visible (each file under blobs/sha256 hashes to its name), every commit the
 * child saw return is there, and the next put, read and writer on a ref the dead child held succeed.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../../bench/mutate.js';
import { cleanupContentStore, createContentStore, verifyContentStore } from '../../content/index.js';
import type { Digest } from '../../oci/index.js';
import { checkDist, startChild, writeChildScript } from './helpers/content-crash.js';
import { bytes, makeRoot, readAll, removeRoot } from './helpers/content-fixtures.js';

const ROUNDS = 50;
const SEED = 0x5eed;
const MAX_DELAY_MS = 150;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Hashes every file under blobs/sha256 without the store's help; returns the names that do not match. */
async function mismatchedBlobs(root: string): Promise<string[]> {
  const dir = join(root, 'blobs', 'sha256');
  const bad: string[] = [];
  for (const name of await readdir(dir)) {
    const hex = createHash('sha256')
      .update(await readFile(join(dir, name)))
      .digest('hex');
    if (hex !== name) bad.push(name);
  }
  return bad;
}

describe('LocalContentStore crash safety', () => {
  let tmp: string;

  beforeAll(async () => {
    checkDist();
    tmp = await makeRoot('tsbuild-content-crash-');
  });
  afterAll(async () => {
    if (tmp) await removeRoot(tmp);
  });

  it(`survives SIGKILL at ${ROUNDS} random moments`, { timeout: 60_000 }, async () => {
    const root = join(tmp, 'store');
    const script = await writeChildScript(tmp);
    const rand = prng(SEED);
    const acknowledged = new Set<Digest>();
    let commits = 0;
    let leftovers = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const child = startChild(script, [root, String(SEED + round)], (line) => {
        const [verb, digest] = line.split(' ') as [string, Digest];
        if (verb === 'committed') {
          acknowledged.add(digest);
          commits += 1;
        } else if (verb === 'deleting') acknowledged.delete(digest);
      });
      await child.ready;
      await sleep(Math.floor(rand() * MAX_DELAY_MS));
      child.process.kill('SIGKILL');
      const end = await child.exited;
      expect(end.signal, `round ${round}: the child ended on its own:\n${end.stderr}`).toBe('SIGKILL');

      // Nothing half-written is visible, by the store's fsck and by hashing the files ourselves.
      const report = await verifyContentStore(root);
      expect(
        report.problems.filter((p) => p.severity === 'error'),
        `round ${round}`,
      ).toEqual([]);
      expect(await mismatchedBlobs(root), `round ${round}`).toEqual([]);
      if (report.problems.some((p) => p.kind === 'stale-ingest' || p.kind === 'temp-file')) leftovers += 1;

      // Every commit the child saw return survived the kill.
      const store = createContentStore({ root });
      for (const digest of acknowledged) expect((await store.info(digest)).digest).toBe(digest);

      // The next operations succeed, including a writer on a ref the dead child may have held.
      const probe = bytes(10_000 + round, 1000 + round);
      const info = await store.put(probe, { labels: { round: String(round) } });
      expect((await readAll(await store.read(info.digest, { verify: true }))).equals(probe)).toBe(true);
      const writer = await store.writer({ ref: `crash-ref-${round % 3}` });
      await writer.write(probe);
      expect((await writer.commit()).digest).toBe(info.digest);

      if (round % 10 === 9) {
        await cleanupContentStore(root);
        expect((await verifyContentStore(root)).problems, `round ${round} after cleanup`).toEqual([]);
      }
    }

    expect(commits).toBeGreaterThan(ROUNDS);
    expect(leftovers, 'no kill landed while a write was under way').toBeGreaterThan(0);
  });
});
