/** docker's merge of an image's Volumes into a container's mounts (imageVolumeMounts), a pure function. */
import { describe, expect, it } from 'vitest';
import { imageVolumeMounts } from '../../runner/index.js';
import type { MountSpec } from '../../runner/index.js';

describe('imageVolumeMounts', () => {
  let n = 0;
  const name = (): string => `anon${++n}`;
  const anonymous = (source: string, target: string): MountSpec => ({
    type: 'volume',
    source,
    target,
    readonly: false,
    noCopy: false,
    anonymous: true,
  });

  it('gives each image path an anonymous volume, in path order, cleaned (a relative one from /)', () => {
    n = 0;
    expect(imageVolumeMounts({ '/var/lib/db/': {}, '/data': {}, logs: {} }, [], name)).toEqual([
      anonymous('anon1', '/data'),
      anonymous('anon2', '/logs'),
      anonymous('anon3', '/var/lib/db'),
    ]);
  });

  it('skips a path a user mount (bind, volume or tmpfs) already targets, and a path given twice', () => {
    n = 0;
    const mounts: MountSpec[] = [
      { type: 'volume', source: 'mine', target: '/data', readonly: false, noCopy: false },
      { type: 'bind', source: '/srv', target: '/srv', readonly: true },
      { type: 'tmpfs', target: '/run' },
    ];
    const volumes = { '/data': {}, '/srv': {}, '/run': {}, '/cache': {}, '/cache/': {}, '/data/sub': {} };
    expect(imageVolumeMounts(volumes, mounts, name)).toEqual([
      anonymous('anon1', '/cache'),
      anonymous('anon2', '/data/sub'),
    ]);
  });

  it('nothing without Volumes; random 64-hex names by default; a VOLUME at / is refused', () => {
    expect(imageVolumeMounts(undefined, [])).toEqual([]);
    const [one] = imageVolumeMounts({ '/data': {} }, []);
    expect(one).toMatchObject({ type: 'volume', target: '/data', anonymous: true });
    expect((one as { source: string }).source).toMatch(/^[0-9a-f]{64}$/);
    expect(() => imageVolumeMounts({ '/': {} }, [])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
