/**
 * `--cache-to` and `--cache-from` as buildx reads them: each type's attributes become the request's
 * `cacheTo`/`cacheFrom` (one name at every hop, the daemon protocol included, local paths made
 * absolute), and every attribute that tsbuild cannot honour is refused, naming it.
 */
import { describe, expect, it } from 'vitest';
import { parseCacheFrom, parseCacheTo } from '../../cli/commands/build-cache.js';
import { buildFromFlags } from '../../cli/commands/build.js';
import { refuseWithCheck } from '../../cli/commands/check.js';
import { parsedBuildFlags } from '../helpers/build-flags.js';
import { parseBuildRequest, wireRequest } from '../../daemon/index.js';
import { checkCacheOptions } from '../../engine/build-cache.js';

describe('--cache-to and --cache-from', () => {
  it("reads buildx's forms", () => {
    expect(parseCacheTo('type=registry,ref=127.0.0.1:5000/app:cache,mode=max,ignore-error=true')).toEqual({
      type: 'registry',
      ref: '127.0.0.1:5000/app:cache',
      mode: 'max',
      ignoreError: true,
    });
    expect(
      parseCacheTo('type=local,dest=/ci/cache,compression=zstd,compression-level=3,cache-mounts=true'),
    ).toEqual({
      type: 'local',
      dest: '/ci/cache',
      compression: 'zstd',
      compressionLevel: 3,
      cacheMounts: true,
    });
    expect(parseCacheTo('type=inline')).toEqual({ type: 'inline' });
    expect(parseCacheTo('type=registry,ref=r,image-manifest=true,oci-mediatypes=true')).toEqual({
      type: 'registry',
      ref: 'r',
    });
    expect(parseCacheFrom('127.0.0.1:5000/app:cache')).toEqual({
      type: 'registry',
      ref: '127.0.0.1:5000/app:cache',
    });
    expect(parseCacheFrom('type=local,src=/ci/cache,tag=main')).toEqual({
      type: 'local',
      src: '/ci/cache',
      tag: 'main',
    });
  });

  it('refuses what it cannot honour, naming it', () => {
    const refused: [() => unknown, RegExp][] = [
      [() => parseCacheTo('type=gha'), /unsupported cache type "gha"/],
      [() => parseCacheTo('type=registry'), /ref is required/],
      [() => parseCacheTo('type=registry,ref=r,mode=all'), /mode=all: expected min or max/],
      [
        () => parseCacheTo('type=registry,ref=r,image-manifest=false'),
        /image-manifest=false is not supported/,
      ],
      [() => parseCacheTo('type=inline,mode=max'), /unknown attribute "mode" for type=inline/],
      [() => parseCacheTo('type=local,dest=d,compression=xz'), /unknown compression "xz"/],
      [() => parseCacheTo('type=local,dest=d,ignore-error=yes'), /ignore-error=yes: expected true or false/],
      [() => parseCacheFrom('type=registry,ref=r,mode=max'), /unknown attribute "mode" for type=registry/],
      [() => parseCacheFrom('type=local'), /src is required/],
      [() => refuseWithCheck({ tag: [], cacheTo: ['type=inline'] }), /--cache-to cannot be used with it/],
    ];
    for (const [call, message] of refused) expect(call).toThrow(message);
  });

  it('travels to the daemon as the request field, local paths absolute', async () => {
    const flags = await parsedBuildFlags([
      '--cache-to',
      'type=local,dest=rel/cache,mode=max',
      '--cache-from',
      'type=local,src=rel/cache',
      '--cache-from',
      '127.0.0.1:5000/app:cache',
      '.',
    ]);
    const { request } = await buildFromFlags('.', flags);
    expect(request.cacheTo).toEqual([{ type: 'local', dest: 'rel/cache', mode: 'max' }]);
    const wire = wireRequest(request);
    expect(wire).toBeDefined();
    const back = parseBuildRequest(JSON.parse(JSON.stringify(wire)));
    expect(back.request.cacheTo).toEqual([
      { type: 'local', dest: `${process.cwd()}/rel/cache`, mode: 'max' },
    ]);
    expect(back.request.cacheFrom).toEqual([
      { type: 'local', src: `${process.cwd()}/rel/cache` },
      { type: 'registry', ref: '127.0.0.1:5000/app:cache' },
    ]);
  });

  it('the engine refuses an inline cache without an image to carry it, and a cache with --check', () => {
    expect(() =>
      checkCacheOptions({ cacheTo: [{ type: 'inline' }], output: { type: 'local', dest: '/o' } }),
    ).toThrow(/type=inline needs an image output, not --output type=local/);
    expect(() => checkCacheOptions({ cacheTo: [{ type: 'inline' }], output: { type: 'tar' } })).toThrow(
      /type=tar/,
    );
    expect(() => checkCacheOptions({ check: true, cacheFrom: [{ type: 'registry', ref: 'r' }] })).toThrow(
      /cannot be used with it/,
    );
    expect(() =>
      checkCacheOptions({ cacheTo: [{ type: 'inline' }], output: { type: 'image', push: true } }),
    ).not.toThrow();
  });
});
