/**
 * createEngine(), the one engine API for Node scripts (index.ts): methods only, no stores on the object,
 * log output handed to onProgress as bytes (base64 is the daemon's wire form only).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as api from '../../index.js';
import { createEngine } from '../../engine/index.js';
import { llb } from '../../index.js';
import type { BuildEngine, BuildRequest, EngineProgressEvent } from '../../engine/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

const canRun = canRunContainers('createEngine tests');

const work = mkdtempSync(join(tmpdir(), 'tsbuild-api-'));
let engine: BuildEngine;

describe('the public API (index.ts)', () => {
  it('exports createEngine and none of the engine internals or the daemon', () => {
    expect(typeof api.createEngine).toBe('function');
    for (const name of [
      'openEngine',
      'build',
      'solve',
      'withSnapshotDir',
      'importRootfs',
      'inspectImage',
      'gc',
      'diskUsage',
      'fsck',
      'ImageStore',
      'serveDaemon',
      'daemonSocketPath',
      'parseBuildRequest',
      'wireRequest',
      'WIRE_VERSION',
      'MemoryProgressWriter',
    ])
      expect(Object.keys(api)).not.toContain(name);
  });
});

describe.skipIf(!canRun)('createEngine', () => {
  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    engine = await createEngine({ root: join(work, 'root') });
  });

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('has methods, not the stores', () => {
    expect(Object.keys(engine).sort()).toEqual(
      [
        'build',
        'close',
        'containers',
        'du',
        'fsck',
        'images',
        'networks',
        'volumes',
        'prune',
        'root',
        'run',
        'solve',
        'withSnapshotDir',
      ].sort(),
    );
    expect(Object.keys(engine.containers).sort()).toEqual(
      [
        'create',
        'exec',
        'inspect',
        'kill',
        'list',
        'logs',
        'pause',
        'prune',
        'remove',
        'restart',
        'run',
        'start',
        'stop',
        'top',
        'unpause',
        'wait',
      ].sort(),
    );
    expect(Object.keys(engine.networks).sort()).toEqual(['create', 'inspect', 'list', 'prune', 'remove']);
    expect(Object.keys(engine.images).sort()).toEqual([
      'history',
      'import',
      'inspect',
      'list',
      'load',
      'prune',
      'pull',
      'push',
      'rm',
      'save',
      'tag',
    ]);
  });

  it('imports, lists, inspects, runs, removes and prunes images', async () => {
    const statuses: EngineProgressEvent[] = [];
    const imported = await engine.images.import(join(work, 'rootfs'), 'busybox:latest', {
      onProgress: (e) => statuses.push(e),
    });
    expect(statuses.some((e) => e.type === 'progress')).toBe(true);
    const listed = await engine.images.list();
    expect(listed.map((i) => i.Name)).toEqual(['docker.io/library/busybox:latest']);
    const inspected = await engine.images.inspect('busybox');
    expect(inspected.Snapshot).toBe(imported.snapshot);
    const out: Uint8Array[] = [];
    const code = await engine.run({
      image: 'busybox',
      args: ['sh', '-c', 'echo ran; exit 3'],
      onOutput: (_stream, chunk) => out.push(chunk),
    });
    expect(code).toBe(3);
    expect(Buffer.concat(out).toString()).toBe('ran\n');
    const usage = await engine.du();
    expect(usage.images.count).toBe(1);
    expect((await engine.fsck()).problems).toEqual([]);
    await engine.images.import(join(work, 'rootfs'), 'spare:latest');
    expect((await engine.images.rm('spare')).name).toBe('docker.io/library/spare:latest');
    expect((await engine.prune()).snapshots).toBe(0); // spare shares busybox's layer
  });

  it("hands a step's output to onProgress as bytes", async () => {
    const events: EngineProgressEvent[] = [];
    const definition = llb
      .image('busybox:latest')
      .run(`printf "caf\\303\\251 ${Date.now()}\\n" && printf "x" > /done`)
      .toDefinition();
    const result = await engine.solve(definition, { onProgress: (e) => events.push(e) });
    const logs = events.flatMap((e) => (e.type === 'log' ? [e] : []));
    expect(logs.length).toBeGreaterThan(0);
    for (const log of logs) expect(log.data).toBeInstanceOf(Uint8Array);
    const text = Buffer.concat(logs.filter((l) => l.stream === 'stdout').map((l) => l.data)).toString();
    expect(text).toMatch(/^café \d+\n$/);
    const done = await engine.withSnapshotDir(result.snapshot ?? '', async (dir) =>
      readFileSync(join(dir, 'done'), 'utf8'),
    );
    expect(done).toBe('x');
  });

  it('builds a request, plain data, with the secrets and onProgress beside it', async () => {
    const context = join(work, 'context');
    mkdirSync(context);
    writeFileSync(
      join(context, 'Dockerfile'),
      'FROM busybox:latest\nRUN --mount=type=secret,id=token cat /run/secrets/token > /got\n',
    );
    const request: BuildRequest = {
      context,
      noCache: true,
      output: { type: 'local', dest: join(work, 'out') },
    };
    expect(JSON.parse(JSON.stringify(request))).toEqual(request);
    const events: EngineProgressEvent[] = [];
    const result = await engine.build(request, {
      secrets: { token: Buffer.from('s3cret') },
      onProgress: (e) => events.push(e),
    });
    expect(result.containers).toBe(1);
    expect(readFileSync(join(work, 'out', 'got'), 'utf8')).toBe('s3cret');
    expect(events.some((e) => e.type === 'vertex.done')).toBe(true);
  });
});
