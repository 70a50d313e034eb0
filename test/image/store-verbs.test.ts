/**
 * The image store's verbs without an engine: `tag` (labels and registry locations come along, a digest
 * reference is refused as a target), registry locations (`repoDigests`) kept while a name stays on its
 * target and dropped when it moves, `withTarget` (the names of one image) and docker's not-found message.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createContentStore } from '../../content/index.js';
import { ImageStore } from '../../image/index.js';
import { repoDigestOf } from '../../image/store.js';
import { MediaType } from '../../oci/index.js';
import type { Descriptor } from '../../oci/index.js';

const root = mkdtempSync(join(tmpdir(), 'tsbuild-store-verbs-'));
const content = createContentStore({ root });
const images = new ImageStore(root, content);

afterAll(() => rmSync(root, { recursive: true, force: true }));

async function blob(text: string): Promise<Descriptor> {
  const info = await content.put(Buffer.from(text));
  return { mediaType: MediaType.ociManifest, digest: info.digest, size: info.size };
}

describe('ImageStore verbs', () => {
  it('tags: the new name points at the same target, with the labels and registry locations', async () => {
    const target = await blob('{"a":1}');
    const where = repoDigestOf('127.0.0.1:5000/team/app:1', target);
    expect(where).toBe(`127.0.0.1:5000/team/app@${target.digest}`);
    await images.put('127.0.0.1:5000/team/app:1', target, { labels: { k: 'v' }, repoDigests: [where] });
    const tagged = await images.tag('127.0.0.1:5000/team/app:1', 'mine');
    expect(tagged.name).toBe('docker.io/library/mine:latest');
    expect(tagged.target).toEqual(target);
    expect(tagged.labels).toEqual({ k: 'v' });
    expect(tagged.repoDigests).toEqual([where]);
    const names = (await images.withTarget(target.digest)).map((r) => r.name);
    expect(names).toEqual(['127.0.0.1:5000/team/app:1', 'docker.io/library/mine:latest']);
  });

  it('keeps registry locations while the name stays on its target, drops them when it moves', async () => {
    const first = await blob('{"b":1}');
    const a = repoDigestOf('busybox', first);
    await images.put('busybox', first, { repoDigests: [a] });
    const again = await images.put('busybox', first, { repoDigests: ['quay.io/x/busybox@' + first.digest] });
    expect(again.repoDigests).toEqual([a, `quay.io/x/busybox@${first.digest}`].sort());
    const kept = await images.put('busybox', first);
    expect(kept.repoDigests).toHaveLength(2);
    const moved = await images.put('busybox', await blob('{"b":2}'));
    expect(moved.repoDigests).toBeUndefined();
  });

  it('refuses a registry location that is not a digest reference to the target', async () => {
    const target = await blob('{"c":1}');
    await expect(images.put('c', target, { repoDigests: ['c:latest'] })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    const other = `c@sha256:${'0'.repeat(64)}`;
    await expect(images.put('c', target, { repoDigests: [other] })).rejects.toThrow(/not a digest reference/);
  });

  it('records where a push sent the target (another manifest), carried by tag, dropped when the name moves', async () => {
    const target = await blob('{"p":1}');
    const pushed = await blob('{"p":"pushed"}');
    await images.put('127.0.0.1:5000/p:1', target);
    const after = await images.recordPush('127.0.0.1:5000/p:1', target, pushed);
    expect(after.repoDigests).toEqual([`127.0.0.1:5000/p@${pushed.digest}`]);
    expect(after.target).toEqual(target);
    expect((await images.tag('127.0.0.1:5000/p:1', 'p2')).repoDigests).toEqual(after.repoDigests);
    // A name moved meanwhile is left as it is.
    const other = await blob('{"p":2}');
    await images.put('127.0.0.1:5000/p:1', other);
    const moved = await images.recordPush('127.0.0.1:5000/p:1', target, pushed);
    expect(moved.target).toEqual(other);
    expect(moved.repoDigests).toBeUndefined();
  });

  it('leaves an image dangling when its last name moves away, not while another name holds it', async () => {
    const [t1, t2, t3, t4] = await Promise.all(['{"d":1}', '{"d":2}', '{"d":3}', '{"d":4}'].map(blob));
    // Only this test's images (the earlier tests moved names on the same store).
    const mine = new Set([t1!, t2!, t3!, t4!].map((t) => t.digest));
    const dangling = async () =>
      (await images.dangling()).map((d) => d.target.digest).filter((d) => mine.has(d));
    await images.put('dang-a', t1!, { labels: { snap: 's1' } });
    await images.put('dang-a', t2!);
    expect(await dangling()).toEqual([t1!.digest]);
    const left = (await images.dangling()).find((d) => d.target.digest === t1!.digest);
    expect(left?.labels).toEqual({ snap: 's1' });
    // Named again: not dangling; its name moves again: dangling again.
    await images.put('dang-b', t1!);
    expect(await dangling()).toEqual([]);
    await images.put('dang-b', t2!);
    expect(await dangling()).toEqual([t1!.digest]);
    // Another name still on it: not dangling.
    await images.put('dang-c', t3!);
    await images.tag('dang-c', 'dang-d');
    await images.put('dang-c', t4!);
    expect(await dangling()).toEqual([t1!.digest]);
    // A name removed is not a move: the image's blobs go at the next GC, no dangling record.
    await images.delete('dang-d');
    expect(await dangling()).toEqual([t1!.digest]);
    await images.removeDangling(t1!.digest);
    expect(await dangling()).toEqual([]);
  });

  it('names the missing image as docker does, and a bad reference by itself', async () => {
    await expect(images.tag('nosuch', 'x')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'No such image: nosuch:latest',
    });
    await expect(images.tag('busybox', 'Bad')).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('"Bad"'),
    });
    await expect(images.tag('busybox', `x@sha256:${'a'.repeat(64)}`)).rejects.toThrow(
      /refusing to create a tag with a digest reference/,
    );
  });
});
