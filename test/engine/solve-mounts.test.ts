/**
 * Exec mounts with the real parts (runc, overlay snapshots): a read-only bind of another state, a cache
 * mount that outlives a solve, tmpfs, secrets as files and as environment variables. Nothing mounted
 * this way ends up in a committed snapshot, and secret values appear in no file under the root and in no
 * progress event.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryProgressWriter } from '../../core/index.js';
import { importRootfs, openEngine, solve, withSnapshotDir } from '../../engine/index.js';
import * as llb from '../../llb/index.js';
import type { Engine } from '../../engine/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

const canRun = canRunContainers('solve mount tests');

const work = mkdtempSync(join(tmpdir(), 'tsbuild-solve-mounts-'));
let engine: Engine;

/** Runs `fn` over a read-only view of the committed snapshot. */
function inSnapshot<T>(snapshot: string | undefined, fn: (dir: string) => T): Promise<T> {
  return withSnapshotDir(engine, snapshot ?? '', async (dir) => fn(dir));
}

const readIn = (snapshot: string | undefined, path: string): Promise<string> =>
  inSnapshot(snapshot, (dir) => readFileSync(join(dir, path), 'utf8'));

/** The entries of a directory in the snapshot, or undefined when it does not exist. */
const listIn = (snapshot: string | undefined, path: string): Promise<string[] | undefined> =>
  inSnapshot(snapshot, (dir) => (existsSync(join(dir, path)) ? readdirSync(join(dir, path)) : undefined));

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** True when `value` occurs in some file under `dir`. */
const foundUnder = (dir: string, value: string): boolean =>
  spawnSync('grep', ['-rqF', '--', value, dir]).status === 0;

/** Every progress event, with log data decoded, as one string. */
function progressText(progress: MemoryProgressWriter): string {
  const logs = progress.ofType('log').map((e) => Buffer.from(e.data, 'base64').toString('utf8'));
  return `${JSON.stringify(progress.events)}\n${logs.join('\n')}`;
}

const base = (): llb.State => llb.image('busybox:latest');

describe.skipIf(!canRun)('exec mounts with runc and overlay snapshots', () => {
  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    engine = await openEngine({ root: join(work, 'root') });
    await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
  });

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('a read-only bind of another state is readable and not writable', async () => {
    const data = base().run('echo data > /d.txt');
    const def = base()
      .run({
        args: 'cat /mnt/d.txt > /got; if echo x > /mnt/d.txt; then exit 1; fi; echo ro > /ro',
        mounts: [{ type: 'bind', dest: '/mnt', from: data, readonly: true }],
      })
      .toDefinition();
    const result = await solve(engine, def);
    expect(await readIn(result.snapshot, 'got')).toBe('data\n');
    expect(await readIn(result.snapshot, 'ro')).toBe('ro\n');
    expect(await listIn(result.snapshot, 'mnt/d.txt')).toBeUndefined();
  });

  it('a cache mount keeps its files between solves and out of the snapshots', async () => {
    const mounts = [{ type: 'cache' as const, dest: '/cache', id: 'mounts-test-cache' }];
    const first = await solve(engine, base().run({ args: 'echo cached > /cache/f', mounts }).toDefinition());
    expect(await listIn(first.snapshot, 'cache/f')).toBeUndefined();
    const locked = [{ ...mounts[0]!, sharing: 'locked' as const }];
    const second = await solve(
      engine,
      base().run({ args: 'cat /cache/f > /got', mounts: locked }).toDefinition(),
      { noCache: true },
    );
    expect(await readIn(second.snapshot, 'got')).toBe('cached\n');
    expect(await listIn(second.snapshot, 'cache/f')).toBeUndefined();
  });

  it('tmpfs is empty, writable and not committed', async () => {
    const def = base()
      .run({
        args: 'test -z "$(ls -A /t)" && echo hi > /t/x && cat /t/x > /got',
        mounts: [{ type: 'tmpfs', dest: '/t', size: 1 << 20 }],
      })
      .toDefinition();
    const result = await solve(engine, def);
    expect(await readIn(result.snapshot, 'got')).toBe('hi\n');
    expect(await listIn(result.snapshot, 't/x')).toBeUndefined();
  });

  it('a secret file is readable during the run and leaves no trace', async () => {
    const value = `s3cret-${randomBytes(16).toString('hex')}`;
    const progress = new MemoryProgressWriter();
    const def = base()
      .run({
        args: 'cat /run/secrets/x > /dev/null && echo ok > /ok && sha256sum /run/secrets/x | cut -d" " -f1 > /sum',
        mounts: [{ type: 'secret', id: 'x', required: true }],
      })
      .toDefinition();
    const result = await solve(engine, def, { secrets: { x: Buffer.from(value) }, progress });
    expect(await readIn(result.snapshot, 'ok')).toBe('ok\n');
    expect(await readIn(result.snapshot, 'sum')).toBe(`${sha256(value)}\n`);
    expect(await listIn(result.snapshot, 'run/secrets/x')).toBeUndefined();
    expect(foundUnder(work, value)).toBe(false);
    expect(progressText(progress)).not.toContain(value);
  });

  it('a secret environment variable reaches the process only', async () => {
    const value = `envs3cret-${randomBytes(16).toString('hex')}`;
    const progress = new MemoryProgressWriter();
    const def = base()
      .run({
        args: 'test -n "$MY_SECRET" && echo "$MY_SECRET" | sha256sum | cut -d" " -f1 > /sum',
        mounts: [{ type: 'secret', id: 'e', env: 'MY_SECRET', required: true }],
      })
      .toDefinition();
    const result = await solve(engine, def, { secrets: { e: Buffer.from(value) }, progress });
    expect(await readIn(result.snapshot, 'sum')).toBe(`${sha256(`${value}\n`)}\n`);
    expect(foundUnder(work, value)).toBe(false);
    expect(progressText(progress)).not.toContain(value);
  });

  it('a missing required secret fails with NOT_FOUND naming it', async () => {
    const def = base()
      .run({ args: 'true', mounts: [{ type: 'secret', id: 'absent-one', required: true }] })
      .toDefinition();
    const err = (await solve(engine, def).catch((e: unknown) => e)) as Error & {
      code?: string;
      cause?: { code?: string };
    };
    expect(err).toBeInstanceOf(Error);
    expect(err.code === 'NOT_FOUND' || err.cause?.code === 'NOT_FOUND').toBe(true);
    expect(err.message).toMatch(/absent-one/);
  });
});
