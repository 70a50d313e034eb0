import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allCapabilities } from '../../executor/capabilities.js';
import { execProcess } from '../../executor/exec-process.js';
import { DEFAULT_CAPABILITIES } from '../../executor/security.js';
import { ExecFixture } from './helpers.js';

let fx: ExecFixture;
beforeAll(() => {
  fx = new ExecFixture();
});
afterAll(() => fx.cleanup());

describe('execProcess (runc exec --process)', () => {
  it('runs a command in a running container with its user, env, cwd and capabilities', async () => {
    const controller = new AbortController();
    const running = fx.executor
      .run({ rootfs: fx.shared, args: ['sleep', '30'], capDrop: ['CHOWN'] }, { signal: controller.signal })
      .catch((e: unknown) => e);
    let id: string | undefined;
    for (let i = 0; i < 100 && id === undefined; i++) {
      id = (await fx.executor.list())[0];
      if (id === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(id).toBeDefined();
    const proc = await execProcess({
      rootfs: fx.shared,
      args: ['sh', '-c', 'id -u; echo "$A|$B|$HOME"; pwd; grep CapEff /proc/self/status'],
      env: ['A=container', 'B=kept', 'A=exec'],
      user: 'daemon',
      cwd: '/tmp',
      capDrop: ['CHOWN'],
    });
    const file = join(fx.dir, 'process.json');
    writeFileSync(file, JSON.stringify(proc));
    const out = execFileSync('runc', ['--root', fx.executor.stateDir, 'exec', '--process', file, id ?? ''], {
      encoding: 'utf8',
    });
    const mask = DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN')
      .map((c) => 1n << BigInt(allCapabilities().indexOf(c)))
      .reduce((a, b) => a | b, 0n);
    // A non-root user's process keeps no effective capabilities (no ambient set, as docker).
    expect(out).toBe(`1\nexec|kept|/usr/sbin\n/tmp\nCapEff:\t${'0'.repeat(16)}\n`);
    const asRoot = await execProcess({
      rootfs: fx.shared,
      args: ['grep', 'CapEff', '/proc/self/status'],
      capDrop: ['CHOWN'],
    });
    writeFileSync(file, JSON.stringify(asRoot));
    const rootOut = execFileSync(
      'runc',
      ['--root', fx.executor.stateDir, 'exec', '--process', file, id ?? ''],
      {
        encoding: 'utf8',
      },
    );
    expect(rootOut).toBe(`CapEff:\t${mask.toString(16).padStart(16, '0')}\n`);
    controller.abort();
    await running;
  });

  it('refuses an empty command', async () => {
    await expect(execProcess({ rootfs: fx.shared, args: [] })).rejects.toThrow('exec needs a command');
  });
});
