/** A create request resolved against its image as docker's daemon merges them, and the process env. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PATH } from '../../executor/index.js';
import type { ResolvedImage } from '../../image/index.js';
import type { ContainerConfig } from '../../oci/index.js';
import { daemonEnv, resolveRecord } from '../../runner/resolve.js';
import type { ContainerSpec } from '../../runner/index.js';

function image(config: ContainerConfig): ResolvedImage {
  return {
    record: { name: 'img', labels: {} },
    configDescriptor: { digest: `sha256:${'c'.repeat(64)}` },
    config: { rootfs: { type: 'layers', diff_ids: [] }, config },
  } as unknown as ResolvedImage;
}

const resolve = (spec: Partial<ContainerSpec>, config: ContainerConfig) =>
  resolveRecord({ image: 'img', ...spec }, image(config), 'a'.repeat(64), 'c1');

describe('resolveRecord', () => {
  const config: ContainerConfig = {
    Entrypoint: ['/entry'],
    Cmd: ['serve'],
    ExposedPorts: { '8080/tcp': {}, '53/udp': {} },
  };

  it("records the merged Entrypoint and Cmd: the image's unless overridden; --entrypoint drops the image's Cmd", () => {
    expect(resolve({}, config)).toMatchObject({ entrypoint: ['/entry'], cmd: ['serve'], path: '/entry' });
    expect(resolve({ cmd: ['x'] }, config)).toMatchObject({ entrypoint: ['/entry'], cmd: ['x'] });
    expect(resolve({ entrypoint: [], cmd: ['sh'] }, config)).toMatchObject({ entrypoint: [], cmd: ['sh'] });
    expect(resolve({ entrypoint: ['/other'] }, config)).toMatchObject({ entrypoint: ['/other'], cmd: [] });
  });

  it("ExposedPorts: the image's EXPOSE then the -p ports, each once", () => {
    const ports = [
      { hostIp: '', hostPort: 0, containerPort: 8080, protocol: 'tcp' as const },
      { hostIp: '', hostPort: 0, containerPort: 82, protocol: 'tcp' as const },
    ];
    expect(resolve({ ports }, config).exposedPorts).toEqual(['8080/tcp', '53/udp', '82/tcp']);
    expect(resolve({}, { Cmd: ['sh'] }).exposedPorts).toEqual([]);
  });

  it("the stop signal: the flag's or the image's, recorded as given; SIGTERM otherwise, not recorded", () => {
    expect(resolve({}, config)).toMatchObject({ stopSignal: 'SIGTERM', stopTimeout: 10 });
    expect(resolve({}, config).configStopSignal).toBeUndefined();
    expect(resolve({}, { ...config, StopSignal: 'SIGUSR1' })).toMatchObject({
      stopSignal: 'SIGUSR1',
      configStopSignal: 'SIGUSR1',
    });
    expect(resolve({ stopSignal: 'SIGINT' }, { ...config, StopSignal: 'SIGUSR1' }).configStopSignal).toBe(
      'SIGINT',
    );
  });
});

describe('daemonEnv', () => {
  it("PATH, HOSTNAME and TERM=xterm (with -t) first, then the container's env, which wins in place", () => {
    expect(daemonEnv(['A=1'], { hostname: 'h1', tty: false })).toEqual([
      `PATH=${DEFAULT_PATH}`,
      'HOSTNAME=h1',
      'A=1',
    ]);
    expect(daemonEnv(['PATH=/bin', 'TERM=dumb', 'HOSTNAME=mine'], { hostname: 'h1', tty: true })).toEqual([
      'PATH=/bin',
      'HOSTNAME=mine',
      'TERM=dumb',
    ]);
    expect(daemonEnv([], { hostname: 'h1', tty: true })).toContain('TERM=xterm');
  });
});
