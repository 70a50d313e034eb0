/**
 * What docker shows of a container at run time, end to end through bin/tsbuild with the real runc: the
 * health `starting` from the start, the env docker adds to an exec (HOSTNAME, TERM with -t), inspect's
 * merged Config (Cmd, Entrypoint, ExposedPorts, StopSignal) and the default bridge's top-level
 * NetworkSettings, and State.OOMKilled after an OOM kill under --memory.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxRootfs } from '../helpers/engine.js';
import { canRunSuite } from '../helpers/prereq.js';
import { TSBUILD_BIN as bin, cliOnRoot } from '../helpers/cli-root.js';

const ready = canRunSuite('inspect at run time (CLI)', {
  root: true,
  runc: true,
  overlay: true,
  built: true,
  tools: ['ip', 'iptables-save', 'nft'],
});

const work = mkdtempSync(join(tmpdir(), 'tsbuild-inspect-run-'));
const root = join(work, 'root');

const { tsbuild, ok } = cliOnRoot(root);

const format = (name: string, template: string): string => ok(['inspect', '-f', template, name]).trim();

describe.skipIf(!ready)('inspect, ps and exec at run time, as docker', () => {
  beforeAll(() => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    ok(['image', 'import', join(work, 'rootfs'), 'busybox:latest']);
    const ctx = join(work, 'ctx');
    mkdirSync(ctx);
    writeFileSync(
      join(ctx, 'Dockerfile'),
      ['FROM busybox', 'EXPOSE 8080', 'STOPSIGNAL SIGUSR1', 'ENTRYPOINT ["sleep"]', 'CMD ["1000"]'].join(
        '\n',
      ),
    );
    ok(['build', '--progress', 'quiet', '-t', 'exposer', ctx]);
  }, 120_000);

  afterAll(() => {
    spawnSync(bin, ['--root', root, 'rm', '-f', 'hc', 'ex', 'ports', 'pall', 'oom', 'fits'], {
      stdio: 'ignore',
    });
    rmSync(work, { recursive: true, force: true });
  });

  it('a healthcheck is starting from the moment the container runs, before its first probe', () => {
    ok([
      'run',
      '-d',
      '--name',
      'hc',
      '--health-cmd',
      'true',
      '--health-interval',
      '1h',
      'busybox',
      'sleep',
      '1000',
    ]);
    expect(
      format('hc', '{{.State.Health.Status}} {{.State.Health.FailingStreak}} {{len .State.Health.Log}}'),
    ).toBe('starting 0 0');
    expect(ok(['ps', '--filter', 'health=starting', '--format', '{{.Names}} {{.Status}}'])).toMatch(
      /^hc Up .* \(health: starting\)\n$/,
    );
    ok(['rm', '-f', 'hc']);
  });

  it("an exec gets docker's HOSTNAME, and TERM=xterm with its own -t; the container's env wins", () => {
    ok(['run', '-d', '--name', 'ex', '--hostname', 'box1', 'busybox', 'sleep', '1000']);
    const plain = ok(['exec', 'ex', 'env']).split('\n');
    expect(plain).toContain('HOSTNAME=box1');
    expect(plain.some((l) => l.startsWith('TERM='))).toBe(false);
    expect(ok(['exec', '-t', 'ex', 'env']).split(/\r?\n/)).toContain('TERM=xterm');
    expect(ok(['exec', '-e', 'HOSTNAME=mine', 'ex', 'env']).split('\n')).toContain('HOSTNAME=mine');
    ok(['rm', '-f', 'ex']);
  });

  it("a run's process gets docker's HOSTNAME, and TERM=xterm with -t; -e wins", () => {
    const plain = ok(['run', '--rm', '--hostname', 'box2', 'busybox', 'env']).split('\n');
    expect(plain).toContain('HOSTNAME=box2');
    expect(plain.some((l) => l.startsWith('TERM='))).toBe(false);
    expect(ok(['run', '--rm', '-t', 'busybox', 'env']).split(/\r?\n/)).toContain('TERM=xterm');
    expect(ok(['run', '--rm', '-e', 'HOSTNAME=mine', 'busybox', 'env']).split('\n')).toContain(
      'HOSTNAME=mine',
    );
  });

  it("inspect: the image's Entrypoint, Cmd, EXPOSE and STOPSIGNAL merged; the bridge's address; -p on all addresses", () => {
    ok(['run', '-d', '--name', 'ports', '-p', '82', 'exposer']);
    expect(format('ports', '{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Config.StopSignal}}')).toBe(
      '["sleep"] ["1000"] SIGUSR1',
    );
    expect(format('ports', '{{json .Config.ExposedPorts}}')).toBe('{"8080/tcp":{},"82/tcp":{}}');
    const ip = format('ports', '{{.NetworkSettings.IPAddress}}');
    expect(ip).toBe(format('ports', '{{.NetworkSettings.Networks.bridge.IPAddress}}'));
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(format('ports', '{{(index (index .NetworkSettings.Ports "82/tcp") 0).HostIp}}')).toBe('0.0.0.0');
    expect(format('ports', '{{range $p, $b := .NetworkSettings.Ports}}{{$p}}={{$b}} {{end}}')).toMatch(
      /^8080\/tcp=<nil> 82\/tcp=\[\{0\.0\.0\.0 \d+\}\]$/,
    );
    ok(['rm', '-f', 'ports']);
  });

  it('-P publishes every exposed port (EXPOSE and --expose) on a free host port; -p keeps its own', () => {
    ok([
      'run',
      '-d',
      '--name',
      'pall',
      '-P',
      '--expose',
      '9000-9001/udp',
      '-p',
      '127.0.0.1::8080',
      'exposer',
    ]);
    const lines = ok(['port', 'pall']).trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^8080\/tcp -> 127\.0\.0\.1:\d+$/);
    expect(lines[1]).toMatch(/^9000\/udp -> 0\.0\.0\.0:\d+$/);
    expect(lines[2]).toMatch(/^9001\/udp -> 0\.0\.0\.0:\d+$/);
    expect(format('pall', '{{.HostConfig.PublishAllPorts}} {{json .Config.ExposedPorts}}')).toBe(
      'true {"8080/tcp":{},"9000/udp":{},"9001/udp":{}}',
    );
    ok(['rm', '-f', 'pall']);
    expect(tsbuild(['run', '--rm', '-P', '--network', 'host', 'exposer'])).toMatchObject({ status: 125 });
  });

  it('State.OOMKilled after the OOM killer ran under --memory, false for a container that fits', () => {
    const oom = tsbuild([
      'run',
      '--name',
      'oom',
      '--memory',
      '8m',
      'busybox',
      'sh',
      '-c',
      'a=$(yes | head -c 100000000)',
    ]);
    expect(oom.status).toBe(137);
    expect(format('oom', '{{.State.OOMKilled}} {{.State.ExitCode}}')).toBe('true 137');
    ok(['run', '--name', 'fits', '--memory', '8m', 'busybox', 'true']);
    expect(format('fits', '{{.State.OOMKilled}}')).toBe('false');
  });
});
