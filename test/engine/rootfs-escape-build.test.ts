/**
 * A Dockerfile build on an image whose special paths are symlinks to a host directory (/etc/hosts,
 * /etc/resolv.conf, /etc/hostname, /run: the secrets' parent, the WORKDIR's parent) works as in
 * BuildKit, every path being resolved inside the rootfs, and leaves the host directory untouched; an
 * image whose /dev is such a symlink is refused with an error naming /dev (runc 1.1 would write /dev's
 * links through it on the host).
 */
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, importRootfs, openEngine } from '../../engine/index.js';
import type { Engine } from '../../engine/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

const canRun = canRunContainers('rootfs escape builds');
const work = mkdtempSync(join(tmpdir(), 'tsbuild-escape-build-'));
const host = join(work, 'host');
let engine: Engine;

function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string, rel: string): void => {
    const st = lstatSync(path);
    let what = `${rel} ${st.mode.toString(8)} ${st.uid}:${st.gid}`;
    if (st.isSymbolicLink()) what += ` -> ${readlinkSync(path)}`;
    else if (st.isFile()) what += ` ${readFileSync(path, 'utf8')}`;
    out.push(what);
    if (st.isDirectory())
      for (const name of readdirSync(path).sort()) walk(join(path, name), `${rel}/${name}`);
  };
  walk(dir, '.');
  return out;
}

/** A busybox rootfs with `links` (path in the rootfs → target) in place of what was there. */
async function importWithLinks(name: string, links: Record<string, string>): Promise<void> {
  const rootfs = join(work, `rootfs-${name}`);
  makeBusyboxRootfs(rootfs);
  for (const [path, target] of Object.entries(links)) {
    rmSync(join(rootfs, path), { recursive: true, force: true });
    symlinkSync(target, join(rootfs, path));
  }
  await importRootfs(engine, rootfs, `${name}:latest`);
}

describe.skipIf(!canRun)('a build on an image with symlinks to the host', () => {
  beforeAll(async () => {
    for (const d of ['dev', 'run/secrets', 'work']) mkdirSync(join(host, d), { recursive: true });
    for (const f of ['hosts', 'resolv.conf', 'hostname']) writeFileSync(join(host, f), `host ${f}\n`);
    engine = await openEngine({ root: join(work, 'root') });
    await importWithLinks('links', {
      'etc/hosts': join(host, 'hosts'),
      'etc/resolv.conf': join(host, 'resolv.conf'),
      'etc/hostname': join(host, 'hostname'),
      run: join(host, 'run'),
      work: join(host, 'work'),
    });
    await importWithLinks('devlink', { dev: join(host, 'dev') });
  });
  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('runs with secret, cache and bind mounts inside the rootfs', async () => {
    const before = snapshot(host);
    const context = join(work, 'ctx');
    mkdirSync(context);
    writeFileSync(join(context, 'in-context'), 'ctx\n');
    const dockerfileText = [
      'FROM links',
      'WORKDIR /work/sub',
      'RUN --mount=type=secret,id=s --mount=type=cache,target=/run/cache --mount=type=bind,target=/run/ctx \\',
      '    cat /run/secrets/s /run/ctx/in-context > out && touch /run/cache/x && hostname >> out',
      '',
    ].join('\n');
    const result = await build(
      engine,
      { context, dockerfileText, output: { type: 'local', dest: join(work, 'out') } },
      { secrets: { s: Buffer.from('sekret\n') } },
    );
    expect(result).toBeDefined();
    expect(readFileSync(join(work, 'out', host, 'work/sub/out'), 'utf8')).toMatch(/^sekret\nctx\n\S+\n$/);
    expect(snapshot(host)).toEqual(before);
  }, 120_000);

  it('refuses a /dev symlinked out of the rootfs, naming it', async () => {
    const before = snapshot(host);
    const err = await build(engine, {
      context: join(work, 'ctx'),
      dockerfileText: 'FROM devlink\nRUN true\n',
    }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('/dev is a symbolic link');
    expect(snapshot(host)).toEqual(before);
  }, 120_000);
});
