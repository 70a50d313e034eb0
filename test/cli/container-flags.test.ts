/** `run`/`create`'s flags → one ContainerSpec: every flag's parsing and the message naming it when wrong. */
import { describe, expect, it } from 'vitest';
import { specFromFlags } from '../../cli/commands/container-flags.js';
import type { ContainerFlags, HostFacts } from '../../cli/commands/container-flags.js';
import {
  parseAddHost,
  parseCapability,
  parseCpus,
  parseLogOptions,
  parseLogTime,
  parseMemory,
  parsePidsLimit,
  parseRestart,
  parseSignal,
  parseTail,
  checkName,
} from '../../cli/commands/container-values.js';

const host: HostFacts = { env: { HOME: '/root', TERM: 'xterm' }, cpus: 2, readText: () => '' };

function flags(over: Partial<ContainerFlags> = {}): ContainerFlags {
  return {
    env: [],
    envFile: [],
    volume: [],
    mount: [],
    tmpfs: [],
    publish: [],
    expose: [],
    networkAlias: [],
    addHost: [],
    capAdd: [],
    capDrop: [],
    label: [],
    logOpt: [],
    healthcheck: true,
    ...over,
  };
}

const spec = (over: Partial<ContainerFlags> = {}, command: string[] = []) =>
  specFromFlags('busybox', command, flags(over), host);

describe('specFromFlags', () => {
  it('gives only the image for no flags', () => {
    expect(spec()).toEqual({ image: 'busybox' });
  });

  it('maps the simple flags one to one', () => {
    expect(
      spec(
        {
          name: 'web',
          rm: true,
          interactive: true,
          tty: true,
          workdir: '/app',
          user: '1000:1000',
          hostname: 'box',
          readOnly: true,
          init: true,
          network: 'mynet',
          networkAlias: ['db'],
          pull: 'never',
          label: ['a=1', 'b'],
        },
        ['ls', '-l'],
      ),
    ).toEqual({
      image: 'busybox',
      name: 'web',
      autoRemove: true,
      openStdin: true,
      tty: true,
      workdir: '/app',
      user: '1000:1000',
      hostname: 'box',
      readOnly: true,
      init: true,
      network: 'mynet',
      networkAliases: ['db'],
      pull: 'never',
      labels: { a: '1', b: '' },
      cmd: ['ls', '-l'],
    });
  });

  it('--entrypoint "" clears the entrypoint, a value replaces it', () => {
    expect(spec({ entrypoint: '' }).entrypoint).toEqual([]);
    expect(spec({ entrypoint: '/bin/sh' }).entrypoint).toEqual(['/bin/sh']);
  });

  it('-e KEY=val, bare KEY from the host, absent KEY left out; env files first', () => {
    const h = { ...host, readText: () => 'A=file\n' };
    expect(
      specFromFlags('i', [], flags({ env: ['A=flag', 'HOME', 'NOPE'], envFile: ['x.env'] }), h).env,
    ).toEqual(['A=file', 'A=flag', 'HOME=/root']);
    expect(() => spec({ env: ['=x'] })).toThrow(/--env "=x"/);
  });

  it('resources: memory, cpus, pids', () => {
    expect(spec({ memory: '512m', cpus: '1.5', pidsLimit: '100' }).resources).toEqual({
      memory: 512 * 1024 * 1024,
      nanoCpus: 1_500_000_000,
      pidsLimit: 100,
    });
  });

  it('--restart with --rm is refused, --restart no with --rm is not', () => {
    expect(() => spec({ rm: true, restart: 'always' })).toThrow(/--restart and --rm/);
    expect(spec({ rm: true, restart: 'no' }).restart).toEqual({ name: 'no', maximumRetryCount: 0 });
  });

  it('health flags: CMD-SHELL and Go durations; timings alone keep the image test; --no-healthcheck', () => {
    expect(
      spec({
        healthCmd: 'true',
        healthInterval: '30s',
        healthTimeout: '1m30s',
        healthRetries: '3',
        healthStartPeriod: '500ms',
      }).healthcheck,
    ).toEqual({
      test: ['CMD-SHELL', 'true'],
      interval: 30e9,
      timeout: 90e9,
      retries: 3,
      startPeriod: 500e6,
    });
    expect(spec({ healthInterval: '5s' }).healthcheck).toEqual({ test: [], interval: 5e9 });
    expect(spec({ healthcheck: false }).healthcheck).toEqual({ test: ['NONE'] });
    expect(() => spec({ healthcheck: false, healthCmd: 'x' })).toThrow(/--no-healthcheck conflicts/);
    expect(() => spec({ healthInterval: '5' })).toThrow(/--health-interval "5"/);
    expect(() => spec({ healthTimeout: '-1s' })).toThrow(/--health-timeout "-1s": cannot be negative/);
    expect(() => spec({ healthInterval: '10us' })).toThrow(/less than 1ms/);
    expect(() => spec({ healthRetries: 'x' })).toThrow(/--health-retries/);
  });

  it('stop signal and timeout', () => {
    expect(spec({ stopSignal: 'int', stopTimeout: '3' })).toMatchObject({
      stopSignal: 'SIGINT',
      stopTimeout: 3,
    });
    expect(() => spec({ stopTimeout: '1.5' })).toThrow(/--stop-timeout "1.5"/);
    expect(() => spec({ stopSignal: 'NOPE' })).toThrow(/invalid --stop-signal "NOPE"/);
  });

  it('capabilities, add-host, log options', () => {
    expect(
      spec({
        capAdd: ['net_admin', 'CAP_SYS_TIME'],
        capDrop: ['ALL'],
        addHost: ['db:10.0.0.2'],
        logOpt: ['max-size=10m', 'max-file=3'],
      }),
    ).toMatchObject({
      capAdd: ['CAP_NET_ADMIN', 'CAP_SYS_TIME'],
      capDrop: ['ALL'],
      extraHosts: ['db:10.0.0.2'],
      logOptions: { maxSize: 10 * 1024 * 1024, maxFiles: 3 },
    });
  });

  it('network checks: aliases need a user network, -p not with host or none, container: refused', () => {
    expect(() => spec({ networkAlias: ['x'] })).toThrow(/--network-alias/);
    expect(() => spec({ network: 'host', networkAlias: ['x'] })).toThrow(/--network-alias/);
    expect(() => spec({ network: 'host', publish: ['80'] })).toThrow(/-p cannot be used with --network host/);
    expect(() => spec({ network: 'container:x' })).toThrow(/--network "container:x"/);
    expect(spec({ network: 'none' }).network).toBe('none');
  });

  it('refuses a relative --workdir, a bad --name, a bad --pull; -u "" and --cpus 0 are the defaults', () => {
    expect(() => spec({ workdir: 'app' })).toThrow(/--workdir "app"/);
    expect(spec({ user: '' }).user).toBeUndefined(); // docker's -u "": the image's user
    expect(spec({ cpus: '0' }).resources?.nanoCpus).toBeUndefined(); // docker's --cpus 0: no limit
    expect(() => spec({ name: 'a b' })).toThrow(/--name "a b"/);
    expect(() => spec({ pull: 'sometimes' })).toThrow(/--pull "sometimes"/);
  });

  it('refuses two mounts on one path', () => {
    expect(() => spec({ volume: ['/a:/data'], tmpfs: ['/data'] })).toThrow(/duplicate mount point: \/data/);
  });
});

describe('the single values', () => {
  it('--memory: units, docker minimum 6 MiB', () => {
    expect(parseMemory('6m')).toBe(6 * 1024 * 1024);
    expect(parseMemory('1g')).toBe(1024 ** 3);
    expect(parseMemory('7340032b')).toBe(7340032);
    expect(() => parseMemory('5m')).toThrow(/--memory "5m": the minimum memory limit allowed is 6MB/);
    expect(() => parseMemory('lots')).toThrow(/--memory "lots": not a size/);
  });

  it('--cpus: decimal to nano CPUs, ≤ host CPUs (0: no limit), 9 decimals at most', () => {
    expect(parseCpus('0.5', 2)).toBe(500_000_000);
    expect(parseCpus('2', 2)).toBe(2e9);
    expect(parseCpus('.25', 2)).toBe(250_000_000);
    expect(parseCpus('0.000000001', 2)).toBe(1);
    expect(() => parseCpus('3', 2)).toThrow(/--cpus "3": the range of CPUs is from 0.01 to 2.00/);
    expect(parseCpus('0', 2)).toBe(0);
    expect(() => parseCpus('-1', 2)).toThrow(/--cpus "-1": not a number/);
    expect(() => parseCpus('0.0000000001', 2)).toThrow(/too precise/);
  });

  it('--pids-limit: 0 and negatives are unlimited', () => {
    expect(parsePidsLimit('100')).toBe(100);
    expect(parsePidsLimit('0')).toBe(-1);
    expect(parsePidsLimit('-1')).toBe(-1);
    expect(() => parsePidsLimit('1.5')).toThrow(/--pids-limit "1.5"/);
  });

  it("capabilities: with or without CAP_, any case, ALL; names this kernel knows (the executor's list)", () => {
    expect(parseCapability('chown', '--cap-add')).toBe('CAP_CHOWN');
    expect(parseCapability('all', '--cap-drop')).toBe('ALL');
    expect(parseCapability('CAP_net_admin', '--cap-add')).toBe('CAP_NET_ADMIN');
    expect(() => parseCapability('FLY', '--cap-drop')).toThrow(/--cap-drop: unknown capability "FLY"/);
  });

  it('signals: names with or without SIG, numbers, real-time ones', () => {
    expect(parseSignal('TERM', '-s')).toBe('SIGTERM');
    expect(parseSignal('sigHup', '-s')).toBe('SIGHUP');
    expect(parseSignal('9', '-s')).toBe('9');
    expect(parseSignal('RTMIN+2', '-s')).toBe('36');
    expect(parseSignal('SIGRTMAX', '-s')).toBe('64');
    expect(() => parseSignal('0', '--signal')).toThrow(/invalid --signal "0"/);
    expect(() => parseSignal('65', '--signal')).toThrow(/invalid --signal "65"/);
    expect(() => parseSignal('BOGUS', '--signal')).toThrow(/invalid --signal "BOGUS"/);
  });

  it('--restart', () => {
    expect(parseRestart('on-failure:2')).toEqual({ name: 'on-failure', maximumRetryCount: 2 });
    expect(parseRestart('on-failure')).toEqual({ name: 'on-failure', maximumRetryCount: 0 });
    expect(parseRestart('unless-stopped')).toEqual({ name: 'unless-stopped', maximumRetryCount: 0 });
    expect(() => parseRestart('always:3')).toThrow(
      /--restart "always:3": a maximum retry count cannot be used/,
    );
    expect(() => parseRestart('on-failure:x')).toThrow(/--restart "on-failure:x"/);
    expect(() => parseRestart('sometimes')).toThrow(/--restart "sometimes": unknown restart policy/);
  });

  it('--add-host: name:ip, name=ip, bracketed IPv6; host-gateway refused', () => {
    expect(parseAddHost('db:10.0.0.2')).toBe('db:10.0.0.2');
    expect(parseAddHost('db=10.0.0.2')).toBe('db:10.0.0.2');
    expect(parseAddHost('v6:[::1]')).toBe('v6:::1');
    expect(parseAddHost('v6:::1')).toBe('v6:::1');
    expect(() => parseAddHost('gw:host-gateway')).toThrow(
      /--add-host "gw:host-gateway": host-gateway is not supported/,
    );
    expect(() => parseAddHost('db:999.1.1.1')).toThrow(/invalid IP address/);
    expect(() => parseAddHost('db')).toThrow(/--add-host "db"/);
  });

  it('--log-opt: max-size and max-file only', () => {
    expect(parseLogOptions([])).toBeUndefined();
    expect(parseLogOptions(['max-size=1k'])).toEqual({ maxSize: 1024 });
    expect(() => parseLogOptions(['max-file=3'])).toThrow(/max-file cannot be set without max-size/);
    expect(() => parseLogOptions(['max-file=0', 'max-size=1m'])).toThrow(/--log-opt "max-file=0"/);
    expect(() => parseLogOptions(['compress=true'])).toThrow(/--log-opt "compress=true": unknown log option/);
  });

  it('--name: docker names', () => {
    expect(checkName('/web_1')).toBe('web_1');
    expect(() => checkName('x')).toThrow(/--name "x"/);
  });

  it('logs --since/--until: durations, RFC 3339, unix seconds', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    expect(parseLogTime('10m', '--since', now)).toBe(now / 1000 - 600);
    expect(parseLogTime('2026-12-06T11:00:00Z', '--since', now)).toBe(now / 1000 - 3600);
    expect(parseLogTime('2026-12-06T13:00:00+02:00', '--since', now)).toBe(now / 1000 - 3600);
    expect(parseLogTime('2026-12-06T11:00:00.5Z', '--since', now)).toBe(now / 1000 - 3599.5);
    expect(parseLogTime('1700000000.25', '--until', now)).toBe(1700000000.25);
    expect(parseLogTime('0', '--until', now)).toBe(0);
    expect(() => parseLogTime('yesterday', '--since', now)).toThrow(/--since "yesterday"/);
  });

  it('logs --tail', () => {
    expect(parseTail('all')).toBe('all');
    expect(parseTail('5')).toBe(5);
    expect(parseTail('-1')).toBe('all');
    expect(() => parseTail('x')).toThrow(/--tail "x"/);
  });
});
