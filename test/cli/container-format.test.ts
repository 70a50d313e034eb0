/** ps's rows and STATUS strings with a fixed clock, and inspect's JSON shape (the engine: format-template.test.ts). */
import { describe, expect, it } from 'vitest';
import { formatItems } from '../../cli/format-output.js';
import { psOutput, statusText } from '../../cli/commands/container-ps.js';
import { inspectJson } from '../../cli/commands/container-inspect.js';
import { NOW, ago, info } from './container-fixtures.js';

describe('ps', () => {
  it("STATUS strings as docker's", () => {
    const s = (state: Parameters<typeof info>[1]) =>
      statusText(info({ id: 'a'.repeat(64) }, state).state, NOW);
    expect(s({ status: 'running', startedAt: ago(3) })).toBe('Up 3 seconds');
    expect(
      s({ status: 'running', startedAt: ago(300), health: { status: 'healthy', failingStreak: 0, log: [] } }),
    ).toBe('Up 5 minutes (healthy)');
    expect(
      s({ status: 'running', startedAt: ago(1), health: { status: 'starting', failingStreak: 0, log: [] } }),
    ).toBe('Up 1 second (health: starting)');
    expect(s({ status: 'paused', startedAt: ago(2) })).toBe('Up 2 seconds (Paused)');
    expect(s({ status: 'exited', exitCode: 0, finishedAt: ago(120) })).toBe('Exited (0) 2 minutes ago');
    expect(s({ status: 'exited', exitCode: 137, finishedAt: ago(7200) })).toBe('Exited (137) 2 hours ago');
    expect(s({ status: 'created', startedAt: '' })).toBe('Created');
    expect(s({ status: 'restarting', exitCode: 1, finishedAt: ago(2) })).toBe('Restarting (1) 2 seconds ago');
    expect(s({ status: 'removing' })).toBe('Removal In Progress');
    expect(s({ status: 'dead' })).toBe('Dead');
  });

  const web = info(
    {
      id: '1'.repeat(64),
      name: 'web',
      created: ago(10),
      path: 'httpd',
      args: ['-f', '-h', '/www', '-p', '8080'],
      spec: { image: 'busybox:latest', labels: { app: 'web' } },
    },
    {
      status: 'running',
      startedAt: ago(3),
      ports: [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 8080, protocol: 'tcp' }],
    },
  );
  const job = info(
    { id: '2'.repeat(64), name: 'job', created: ago(3600), path: 'true', args: [] },
    { status: 'exited', exitCode: 3, finishedAt: ago(120), startedAt: ago(130) },
  );
  const fresh = info(
    { id: '3'.repeat(64), name: 'fresh', created: ago(1) },
    { status: 'created', startedAt: '' },
  );

  it("the default table: docker's columns, IDs cut to 12, command quoted and cut to 20", () => {
    expect(psOutput([job, web], { filter: [] }, NOW).split('\n')).toEqual([
      'CONTAINER ID   IMAGE            COMMAND                  CREATED          STATUS         PORTS                      NAMES',
      '111111111111   busybox:latest   "httpd -f -h /www -p…"   10 seconds ago   Up 3 seconds   127.0.0.1:8080->8080/tcp   web',
      '',
    ]);
  });

  it('-a newest first, -q, --no-trunc, -n, -l', () => {
    expect(psOutput([job, web, fresh], { all: true, quiet: true, filter: [] }, NOW)).toBe(
      '333333333333\n111111111111\n222222222222\n',
    );
    expect(psOutput([job, web], { quiet: true, trunc: false, filter: [] }, NOW)).toBe(`${'1'.repeat(64)}\n`);
    expect(psOutput([job, web, fresh], { quiet: true, last: '2', filter: [] }, NOW)).toBe(
      '333333333333\n111111111111\n',
    );
    expect(psOutput([job, web, fresh], { quiet: true, latest: true, filter: [] }, NOW)).toBe(
      '333333333333\n',
    );
    const full = psOutput([web], { trunc: false, format: '{{.Command}}', filter: [] }, NOW);
    expect(full).toBe('"httpd -f -h /www -p 8080"\n');
  });

  it('filters: status, name, label, id, exited; keys AND, values OR', () => {
    const q = (...filter: string[]) => psOutput([job, web, fresh], { quiet: true, filter }, NOW);
    expect(q('status=exited')).toBe('222222222222\n');
    expect(q('status=exited', 'status=created')).toBe('333333333333\n222222222222\n');
    expect(q('name=^w')).toBe('111111111111\n');
    expect(q('label=app=web')).toBe('111111111111\n');
    expect(q('label=app')).toBe('111111111111\n');
    expect(q('exited=3')).toBe('');
    expect(psOutput([job, web], { all: true, quiet: true, filter: ['exited=3'] }, NOW)).toBe(
      '222222222222\n',
    );
    expect(q('id=2222')).toBe('');
    expect(psOutput([job, web], { all: true, quiet: true, filter: ['id=2222'] }, NOW)).toBe('222222222222\n');
    expect(q('status=running', 'name=job')).toBe('');
    expect(() => q('status=sleeping')).toThrow(/--filter "status=sleeping"/);
    expect(() => q('ancestor=busybox')).toThrow(/--filter "ancestor=busybox"/);
    expect(() => q('name')).toThrow(/--filter "name"/);
  });

  it('--format placeholders, json and table', () => {
    const out = psOutput(
      [web],
      {
        format:
          '{{.ID}} {{.Names}} {{.State}} {{.Ports}} {{.Labels}} {{.Networks}} {{.CreatedAt}} {{.RunningFor}}',
        filter: [],
      },
      NOW,
    );
    expect(out).toBe(
      '111111111111 web running 127.0.0.1:8080->8080/tcp app=web bridge 2026-12-06 11:59:50 +0000 UTC 10 seconds ago\n',
    );
    expect(JSON.parse(psOutput([web], { format: 'json', filter: [] }, NOW))).toMatchObject({
      ID: '111111111111',
      Names: 'web',
      State: 'running',
    });
    expect(psOutput([web], { format: 'table {{.Names}}\t{{.Status}}', filter: [] }, NOW)).toBe(
      'NAMES     STATUS\nweb       Up 3 seconds\n',
    );
    expect(() => psOutput([web], { format: '{{.Size}}', filter: [] }, NOW)).toThrow(
      /can't evaluate field Size/,
    );
  });

  it('{{.Label "key"}}: the value (empty when absent), its header the key\'s last part', () => {
    const format = 'table {{.Names}}\t{{.Label "app"}}\t{{.Label "com.example.build-id"}}';
    expect(psOutput([web], { format, filter: [] }, NOW)).toBe(
      'NAMES     app       build id\nweb       web\n',
    );
    expect(psOutput([web], { format: '{{"app" | .Label}}', filter: [] }, NOW)).toBe('web\n');
    expect(() => psOutput([web], { format: '{{.Label "a" "b"}}', filter: [] }, NOW)).toThrow(
      /wrong number of args for Label: want 1 got 2/,
    );
    // the method is not data: json leaves it out
    expect(Object.keys(JSON.parse(psOutput([web], { format: 'json', filter: [] }, NOW)))).not.toContain(
      'Label',
    );
  });
});

describe('inspect', () => {
  it("docker's JSON shape", () => {
    const i = info(
      {
        id: '1'.repeat(64),
        name: 'web',
        created: ago(10),
        path: 'httpd',
        args: ['-f'],
        entrypoint: ['httpd'],
        cmd: ['-f'],
        spec: {
          image: 'busybox',
          ports: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' }],
          mounts: [
            { type: 'bind', source: '/srv', target: '/www', readonly: true, createSource: true },
            { type: 'volume', source: 'data', target: '/data', readonly: false, noCopy: false },
            { type: 'tmpfs', target: '/run', size: 1024, mode: 0o755 },
          ],
          restart: { name: 'on-failure', maximumRetryCount: 2 },
          resources: { memory: 7e6, nanoCpus: 5e8 },
          capAdd: ['CAP_NET_ADMIN'],
          labels: { a: 'b' },
          network: 'mynet',
        },
      },
      {
        status: 'running',
        pid: 99,
        startedAt: ago(3),
        health: {
          status: 'healthy',
          failingStreak: 0,
          log: [{ start: ago(2), end: ago(1), exitCode: 0, output: 'ok' }],
        },
        networks: [
          {
            network: 'mynet',
            networkId: 'n1',
            ipAddress: '10.1.0.2',
            prefixLen: 24,
            gateway: '10.1.0.1',
            macAddress: '02:42:0a:01:00:02',
            aliases: ['web'],
          },
        ],
        ports: [{ hostIp: '127.0.0.1', hostPort: 32768, containerPort: 80, protocol: 'tcp' }],
      },
    );
    const j = inspectJson(i);
    expect(j).toMatchObject({
      Id: '1'.repeat(64),
      Name: '/web',
      Path: 'httpd',
      Args: ['-f'],
      State: {
        Status: 'running',
        Running: true,
        Paused: false,
        Pid: 99,
        FinishedAt: '0001-01-01T00:00:00Z',
        Health: { Status: 'healthy', FailingStreak: 0, Log: [{ ExitCode: 0, Output: 'ok' }] },
      },
      HostConfig: {
        Binds: ['/srv:/www:ro', 'data:/data'],
        NetworkMode: 'mynet',
        PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
        RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 },
        Memory: 7e6,
        NanoCpus: 5e8,
        PidsLimit: null,
        CapAdd: ['CAP_NET_ADMIN'],
        CapDrop: null,
        Tmpfs: { '/run': 'size=1024,mode=755' },
      },
      Mounts: [
        { Type: 'bind', Source: '/srv', Destination: '/www', RW: false },
        { Type: 'volume', Name: 'data', Destination: '/data', RW: true },
        { Type: 'tmpfs', Destination: '/run', RW: true },
      ],
      Config: {
        Image: 'busybox',
        Entrypoint: ['httpd'],
        Cmd: ['-f'],
        Labels: { a: 'b' },
      },
      NetworkSettings: {
        Ports: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '32768' }] },
        Networks: {
          mynet: {
            IPAddress: '10.1.0.2',
            IPPrefixLen: 24,
            Gateway: '10.1.0.1',
            NetworkID: 'n1',
            Aliases: ['web'],
          },
        },
      },
    });
    expect(
      formatItems(
        '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}} {{.Config.Labels.a}} {{.Config.Labels.zz}}',
        [j],
      ),
    ).toBe('10.1.0.2 b <no value>\n');
    expect(formatItems('{{json .NetworkSettings.Ports}}', [j])).toBe(
      '{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"32768"}]}\n',
    );
  });
});

describe("inspect: docker's merged Config and the default bridge's NetworkSettings", () => {
  const bridge = {
    network: 'bridge',
    networkId: 'n0',
    ipAddress: '172.30.0.2',
    prefixLen: 24,
    gateway: '172.30.0.1',
    macAddress: '02:42:ac:1e:00:02',
    aliases: [],
  };

  it('Cmd and Entrypoint as resolved (null when empty); ExposedPorts from the image and -p', () => {
    const j = inspectJson(
      info(
        {
          id: '2'.repeat(64),
          entrypoint: [],
          cmd: ['sh'],
          exposedPorts: ['8080/tcp', '82/tcp'],
          spec: {
            image: 'busybox',
            ports: [{ hostIp: '', hostPort: 0, containerPort: 82, protocol: 'tcp' }],
          },
        },
        { networks: [bridge], ports: [{ hostIp: '', hostPort: 32768, containerPort: 82, protocol: 'tcp' }] },
      ),
    );
    expect(j).toMatchObject({
      Config: { Cmd: ['sh'], Entrypoint: null, ExposedPorts: { '8080/tcp': {}, '82/tcp': {} } },
      HostConfig: { PortBindings: { '82/tcp': [{ HostIp: '', HostPort: '' }] } },
      NetworkSettings: {
        SandboxKey: `/run/netns/tsbuild-${'2'.repeat(64)}`,
        IPAddress: '172.30.0.2',
        Gateway: '172.30.0.1',
        IPPrefixLen: 24,
        MacAddress: '02:42:ac:1e:00:02',
        // -p 82 listens on every address: docker's 0.0.0.0; an exposed port not published is null.
        Ports: { '82/tcp': [{ HostIp: '0.0.0.0', HostPort: '32768' }], '8080/tcp': null },
      },
    });
    expect(
      formatItems(
        '{{.NetworkSettings.IPAddress}} {{(index (index .NetworkSettings.Ports "82/tcp") 0).HostPort}}',
        [j],
      ),
    ).toBe('172.30.0.2 32768\n');
  });

  it('StopSignal, StopTimeout and an empty ExposedPorts are left out of the JSON but read as zero', () => {
    const plain = inspectJson(info({ id: '3'.repeat(64) }, { networks: [{ ...bridge, network: 'mynet' }] }));
    const config = JSON.parse(JSON.stringify(plain)).Config as Record<string, unknown>;
    expect(Object.keys(config)).not.toContain('StopSignal');
    expect(Object.keys(config)).not.toContain('StopTimeout');
    expect(Object.keys(config)).not.toContain('ExposedPorts');
    expect(
      formatItems(
        '[{{.Config.StopSignal}}] {{.Config.StopTimeout}} {{.Config.ExposedPorts}} [{{.NetworkSettings.IPAddress}}]',
        [plain],
      ),
    ).toBe('[] <nil> map[] []\n');
    const given = inspectJson(
      info({
        id: '4'.repeat(64),
        configStopSignal: 'SIGUSR1',
        spec: { image: 'busybox', stopTimeout: 3 },
      }),
    );
    expect(given).toMatchObject({ Config: { StopSignal: 'SIGUSR1', StopTimeout: 3 } });
    expect(formatItems('{{.NetworkSettings.SandboxKey}}|', [given])).toBe('|\n');
  });
});
