/** -v, --mount, --tmpfs and -p matrices, and env files, as docker reads them. */
import { describe, expect, it } from 'vitest';
import { parseEnvFile } from '../../cli/commands/container-env.js';
import { parseMountFlag, parseTmpfsFlag, parseVolumeFlag } from '../../cli/commands/container-mounts.js';
import {
  displayPorts,
  parseExpose,
  parsePublish,
  parsePublishFlags,
} from '../../cli/commands/container-ports.js';

describe('-v', () => {
  it.each([
    ['/data', { type: 'volume', target: '/data', readonly: false, noCopy: false }],
    [
      'cache:/var/cache',
      { type: 'volume', source: 'cache', target: '/var/cache', readonly: false, noCopy: false },
    ],
    ['cache:/c:ro,nocopy', { type: 'volume', source: 'cache', target: '/c', readonly: true, noCopy: true }],
    [
      '/srv/www:/www',
      { type: 'bind', source: '/srv/www', target: '/www', readonly: false, createSource: true },
    ],
    [
      '/srv/www/:/www/:ro',
      { type: 'bind', source: '/srv/www', target: '/www', readonly: true, createSource: true },
    ],
    [
      '/a:/b:rw,rshared',
      {
        type: 'bind',
        source: '/a',
        target: '/b',
        readonly: false,
        createSource: true,
        propagation: 'rshared',
      },
    ],
  ])('%s', (flag, expected) => {
    expect(parseVolumeFlag(flag)).toEqual(expected);
  });

  it.each([
    ['data/x:/data', /invalid -v "data\/x:\/data".*invalid characters for a local volume name/],
    ['/a:b', /the container path "b" is not absolute/],
    ['/a:/', /can't be '\/'/],
    ['/data:ro', /a mode without a source/],
    ['/a:/b:ro,rw', /ro and rw given together/],
    ['/a:/b:z', /SELinux label mode z is not supported/],
    ['/a:/b:cached', /consistency mode cached is not supported/],
    ['/a:/b:bogus', /unknown mode "bogus"/],
    ['/a:/b:nocopy', /nocopy applies to a volume/],
    ['vol:/b:shared', /propagation mode applies to a bind mount/],
    [':/b', /use \[SOURCE:\]TARGET/],
    ['/a:/b:ro:x', /use \[SOURCE:\]TARGET/],
  ])('refuses %s', (flag, message) => {
    expect(() => parseVolumeFlag(flag)).toThrow(message);
  });

  it('a source starting with . is a host path from the working directory (docker 23+)', () => {
    expect(parseVolumeFlag('./data:/data', () => '/work/app')).toMatchObject({
      type: 'bind',
      source: '/work/app/data',
    });
    expect(parseVolumeFlag('..:/up:ro', () => '/work/app')).toMatchObject({
      source: '/work',
      readonly: true,
    });
    expect(parseVolumeFlag('.:/here', () => '/work/app')).toMatchObject({ source: '/work/app' });
    try {
      parseVolumeFlag('data/x:/data');
      expect.unreachable();
    } catch (err) {
      expect((err as { hint?: string }).hint).toMatch(/use an absolute path or one starting with \.\//);
    }
  });
});

describe('--mount', () => {
  it('a relative bind source is from the working directory', () => {
    expect(parseMountFlag('type=bind,src=rel,dst=/b', () => '/work/app')).toMatchObject({
      source: '/work/app/rel',
    });
  });

  it.each([
    [
      'TYPE=Bind,Source=/a,Target=/b',
      { type: 'bind', source: '/a', target: '/b', readonly: false, createSource: false },
    ],
    [
      'type=bind,source=/a,target=/b',
      { type: 'bind', source: '/a', target: '/b', readonly: false, createSource: false },
    ],
    [
      'type=bind,src=/a,dst=/b,readonly,bind-propagation=rslave',
      {
        type: 'bind',
        source: '/a',
        target: '/b',
        readonly: true,
        createSource: false,
        propagation: 'rslave',
      },
    ],
    [
      'type=bind,src=/a,destination=/b,ro=false',
      { type: 'bind', source: '/a', target: '/b', readonly: false, createSource: false },
    ],
    ['target=/data', { type: 'volume', target: '/data', readonly: false, noCopy: false }],
    [
      'type=volume,src=vol,dst=/d,volume-nocopy,ro=1',
      { type: 'volume', source: 'vol', target: '/d', readonly: true, noCopy: true },
    ],
    [
      'type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1770',
      { type: 'tmpfs', target: '/t', size: 64 * 1024 * 1024, mode: 0o1770 },
    ],
  ])('%s', (flag, expected) => {
    expect(parseMountFlag(flag)).toEqual(expected);
  });

  it.each([
    ['type=bind,src=/a', /target is required/],
    ['type=bind,dst=/b', /source is required for a bind mount/],
    ['type=bind,src=/a,dst=/b,volume-nocopy', /volume-nocopy is not allowed with type=bind/],
    ['type=volume,dst=/b,bind-propagation=shared', /bind-propagation is not allowed with type=volume/],
    ['type=tmpfs,src=x,dst=/b', /source is not allowed with type=tmpfs/],
    ['type=tmpfs,dst=/b,readonly', /a tmpfs cannot be readonly/],
    ['type=npipe,dst=/b', /unknown type "npipe"/],
    ['type=bind,src=/a,dst=/b,color=red', /unknown key "color"/],
    ['type=volume,dst=/b,volume-driver=x', /the key volume-driver is not supported/],
    ['type=bind,src=/a,src=/c,dst=/b', /src given twice/],
    ['type=bind,src=/a,dst=/b,readonly=maybe', /invalid value for readonly/],
    ['type=tmpfs,dst=/b,tmpfs-size=big', /invalid tmpfs size/],
    ['type=tmpfs,dst=/b,tmpfs-mode=999', /invalid tmpfs mode/],
    ['type=bind,src=/a,dst=/b,bind-propagation=sideways', /invalid bind-propagation/],
    ['type,dst=/b', /type needs a value/],
  ])('refuses %s', (flag, message) => {
    expect(() => parseMountFlag(flag)).toThrow(message);
    expect(() => parseMountFlag(flag)).toThrow(/--mount/);
  });
});

describe('--tmpfs', () => {
  it('path with size and mode', () => {
    expect(parseTmpfsFlag('/run')).toEqual({ type: 'tmpfs', target: '/run' });
    expect(parseTmpfsFlag('/run:size=1m,mode=700')).toEqual({
      type: 'tmpfs',
      target: '/run',
      size: 1024 * 1024,
      mode: 0o700,
    });
    // docker's own example
    expect(parseTmpfsFlag('/run:rw,noexec,nosuid,size=65536k')).toEqual({
      type: 'tmpfs',
      target: '/run',
      size: 65536 * 1024,
      options: ['rw', 'noexec', 'nosuid'],
    });
    expect(parseTmpfsFlag('/run:exec,uid=1000,gid=1000')).toMatchObject({
      options: ['exec', 'uid=1000', 'gid=1000'],
    });
    expect(() => parseTmpfsFlag('/run:bind')).toThrow(/--tmpfs "\/run:bind": unsupported option "bind"/);
    expect(() => parseTmpfsFlag('/run:uid=me')).toThrow(/unsupported option "uid=me"/);
    expect(() => parseTmpfsFlag('run')).toThrow(/--tmpfs "run"/);
  });
});

describe('--expose', () => {
  it("a port, a protocol, a range: docker's PORT/PROTO keys", () => {
    expect(parseExpose('80')).toEqual(['80/tcp']);
    expect(parseExpose('53/UDP')).toEqual(['53/udp']);
    expect(parseExpose('8000-8002/tcp')).toEqual(['8000/tcp', '8001/tcp', '8002/tcp']);
    for (const bad of ['http', '0', '80/sctp', '9-8', '70000'])
      expect(() => parseExpose(bad)).toThrow(`invalid --expose ${JSON.stringify(bad)}`);
  });
});

describe('-p', () => {
  const b = (hostIp: string, hostPort: number, containerPort: number, protocol: 'tcp' | 'udp' = 'tcp') => ({
    hostIp,
    hostPort,
    containerPort,
    protocol,
  });
  it.each([
    ['80', [b('', 0, 80)]],
    ['8080:80', [b('', 8080, 80)]],
    ['127.0.0.1:8080:80', [b('127.0.0.1', 8080, 80)]],
    ['127.0.0.1::80', [b('127.0.0.1', 0, 80)]],
    ['53:53/udp', [b('', 53, 53, 'udp')]],
    ['8000-8001:80-81', [b('', 8000, 80), b('', 8001, 81)]],
    ['80-81/UDP', [b('', 0, 80, 'udp'), b('', 0, 81, 'udp')]],
    ['[::1]:8080:80', [b('::1', 8080, 80)]],
    ['[::1]::80/udp', [b('::1', 0, 80, 'udp')]],
  ])('%s', (flag, expected) => {
    expect(parsePublish(flag)).toEqual(expected);
  });

  it.each([
    ['', /no container port/],
    ['x', /invalid container port "x"/],
    ['0', /invalid container port "0"/],
    ['70000', /invalid container port "70000"/],
    ['8080:', /no container port/],
    ['99999:80', /invalid host port "99999"/],
    ['1.2.3:80:80', /invalid IP address "1.2.3"/],
    ['::1:80:80', /IPv6 address must be in brackets/],
    ['[::1:80:80', /brackets must be followed/],
    ['8000-8002:80-81', /ranges are not the same length/],
    ['81-80', /invalid container port "81-80"/],
    ['80/sctp', /unsupported protocol "sctp"/],
  ])('refuses %j', (flag, message) => {
    expect(() => parsePublish(flag)).toThrow(message);
    expect(() => parsePublish(flag)).toThrow(/-p/);
  });

  it('refuses a host port published twice, allows random ones twice', () => {
    expect(() => parsePublishFlags(['8080:80', '8080:81'])).toThrow(/host port 8080\/tcp is published twice/);
    expect(parsePublishFlags(['80', '81'])).toHaveLength(2);
    expect(parsePublishFlags(['8080:80', '8080:80/udp'])).toHaveLength(2);
  });

  it("PORTS: docker's column with ranges", () => {
    expect(displayPorts([b('127.0.0.1', 8080, 80)])).toBe('127.0.0.1:8080->80/tcp');
    expect(displayPorts([b('', 8001, 81), b('', 8000, 80), b('::1', 9000, 90, 'udp')])).toBe(
      '0.0.0.0:8000-8001->80-81/tcp, [::1]:9000->90/udp',
    );
    expect(displayPorts([])).toBe('');
    // exposed ports nothing publishes come first, as docker's
    expect(displayPorts([b('127.0.0.1', 8080, 80)], ['80/tcp', '8001/tcp', '8000/tcp', '53/udp'])).toBe(
      '8000-8001/tcp, 53/udp, 127.0.0.1:8080->80/tcp',
    );
  });
});

describe('--env-file', () => {
  const host = { HOST_ONLY: 'h' };
  it("reads docker's format", () => {
    const text = '\uFEFF# comment\n\nA=1\n  B=two \nC=\nHOST_ONLY\nABSENT\nD=x=y\r\n';
    expect(parseEnvFile(text, 'app.env', host)).toEqual(['A=1', 'B=two ', 'C=', 'HOST_ONLY=h', 'D=x=y']);
  });

  it('names file:line in errors', () => {
    expect(() => parseEnvFile('A=1\n=2\n', 'bad.env', host)).toThrow(/^bad.env:2: no variable name/);
    expect(() => parseEnvFile('A=1\nB =2\n', 'x.env', host)).toThrow(
      /x.env:2: variable "B " contains whitespace/,
    );
    expect(() => parseEnvFile('A=1\nMY VAR=2\n', 'bad.env', host)).toThrow(
      /bad.env:2: variable "MY VAR" contains whitespace/,
    );
  });
});
