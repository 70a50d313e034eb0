/** The networks' pure parts: IPv4 prefixes, docker's MACs, the hosts files, and the executor's `--add-host`. */
import { describe, expect, it } from 'vitest';
import { extraHostLines, parseExtraHost } from '../../executor/index.js';
import {
  formatIPv4,
  freeHost,
  macForAddress,
  overlaps,
  parseIPv4,
  parseSubnet,
  subnetsOf,
  tryParseCidr,
} from '../../network/cidr.js';
import { hostsFor } from '../../network/hosts.js';
import type { Endpoint, NetworkRecord } from '../../network/index.js';

const cidr = (text: string) => tryParseCidr(text) ?? { base: -1, prefixLen: -1 };

describe('IPv4 prefixes', () => {
  it('parses, formats and clears host bits', () => {
    expect(parseIPv4('172.30.1.2')).toBe(0xac1e0102);
    expect(formatIPv4(0xac1e0102)).toBe('172.30.1.2');
    expect(parseIPv4('1.2.3')).toBeUndefined();
    expect(cidr('172.30.1.77/24')).toEqual({ base: 0xac1e0100, prefixLen: 24 });
    expect(tryParseCidr('172.30.1.0/33')).toBeUndefined();
  });

  it('refuses subnets by the flag that gave them', () => {
    expect(() => parseSubnet('nope', '--subnet')).toThrow('invalid --subnet "nope"');
    expect(() => parseSubnet('10.0.0.0/31', '--subnet')).toThrow('between 8 and 30');
    expect(() => parseSubnet('fd00::/64', '--subnet')).toThrow('IPv4 subnet');
  });

  it('finds overlaps, free hosts and a pool’s /24s', () => {
    expect(overlaps(cidr('172.30.0.0/16'), cidr('172.30.5.0/24'))).toBe(true);
    expect(overlaps(cidr('172.30.5.0/24'), cidr('172.30.6.0/24'))).toBe(false);
    const net = cidr('10.1.2.0/30');
    expect(freeHost(net, new Set())).toBe(parseIPv4('10.1.2.1'));
    expect(freeHost(net, new Set([parseIPv4('10.1.2.1') ?? 0]))).toBe(parseIPv4('10.1.2.2'));
    expect(freeHost(net, new Set([parseIPv4('10.1.2.1') ?? 0, parseIPv4('10.1.2.2') ?? 0]))).toBeUndefined();
    const subnets = [...subnetsOf(cidr('172.30.0.0/16'), 24)];
    expect(subnets).toHaveLength(256);
    expect(subnets[1]).toEqual(cidr('172.30.1.0/24'));
  });

  it("gives docker's MAC for an address", () => {
    expect(macForAddress(parseIPv4('172.17.0.2') ?? 0)).toBe('02:42:ac:11:00:02');
  });
});

describe('hosts files', () => {
  const endpoint = (id: string, name: string, ip: string, extra: Partial<Endpoint> = {}): Endpoint => ({
    containerId: id,
    containerName: name,
    hostname: name,
    aliases: [],
    extraHosts: [],
    ipAddress: ip,
    macAddress: '',
    ...extra,
  });
  const web = endpoint('a', 'web', '172.30.9.2', { aliases: ['www'], hostname: 'webhost' });
  const db = endpoint('b', 'db', '172.30.9.3', { extraHosts: ['gw:172.30.9.1'] });
  const record = (name: string): NetworkRecord => ({
    name,
    id: 'n',
    driver: 'bridge',
    subnet: '172.30.9.0/24',
    gateway: '172.30.9.1',
    bridge: 'tsb-n',
    created: '',
    labels: {},
    internal: false,
    endpoints: { a: web, b: db },
  });

  it('names the other containers on a user network, then the --add-host entries', () => {
    expect(hostsFor(record('appnet'), db)).toBe(
      '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' +
        '172.30.9.3\tdb\n172.30.9.2\tweb www webhost\n172.30.9.1\tgw\n',
    );
    expect(hostsFor(record('appnet'), web)).toContain('172.30.9.2\twebhost web www\n172.30.9.3\tdb\n');
  });

  it('names only the container itself on the default bridge (no name resolution there)', () => {
    expect(hostsFor(record('bridge'), db)).not.toContain('web');
  });
});

describe('--add-host', () => {
  it("parses docker's forms and refuses the rest by value", () => {
    expect(parseExtraHost('db:10.0.0.5')).toEqual({ name: 'db', ip: '10.0.0.5' });
    expect(parseExtraHost('db=10.0.0.5')).toEqual({ name: 'db', ip: '10.0.0.5' });
    expect(parseExtraHost('v6:::1')).toEqual({ name: 'v6', ip: '::1' });
    expect(parseExtraHost('v6:[fd00::1]')).toEqual({ name: 'v6', ip: 'fd00::1' });
    expect(() => parseExtraHost('db')).toThrow('invalid --add-host "db"');
    expect(() => parseExtraHost('db:nope')).toThrow('invalid --add-host "db:nope"');
    expect(extraHostLines(['a:1.2.3.4', 'b:::1'])).toBe('1.2.3.4\ta\n::1\tb\n');
  });
});
