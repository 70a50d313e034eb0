/**
 * `-p [ip:][hostPort:]containerPort[/tcp|udp]` → `PortBinding`s, as docker's nat.ParsePortSpec: ranges
 * (`8000-8001:80-81`, one binding per port), `127.0.0.1::80` (a free host port), IPv6 in brackets
 * (`[::1]:8080:80`). Also docker's PORTS column (`127.0.0.1:8080->80/tcp`).
 */
import { isIP } from 'node:net';
import { InvalidArgumentError, NotFoundError } from '../../core/index.js';
import type { PortBinding } from '../../runner/index.js';

function invalid(spec: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid -p ${JSON.stringify(spec)}: ${why}`, {
    hint: 'use [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp], e.g. 127.0.0.1:8080:80 or 8000-8001:80-81/udp',
  });
}

/** `80` or `8000-8010` → [start, end]; undefined for an empty host port. */
function portRange(text: string, what: string, spec: string, min: number): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  const start = Number(m?.[1]);
  const end = m?.[2] === undefined ? start : Number(m[2]);
  if (!m || start < min || end > 65535 || end < start)
    throw invalid(spec, `invalid ${what} ${JSON.stringify(text)}`);
  return [start, end];
}

/** ip, host port and container port of `spec` without its protocol (docker's splitParts). */
function splitParts(rest: string, spec: string): { ip: string; host: string; container: string } {
  let ip = '';
  let tail = rest;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':')
      throw invalid(spec, 'an IPv6 address in brackets must be followed by :');
    ip = rest.slice(1, close);
    tail = rest.slice(close + 2);
    const parts = tail.split(':');
    if (parts.length !== 2) throw invalid(spec, 'after the address, give HOST_PORT:CONTAINER_PORT');
    return { ip, host: parts[0] ?? '', container: parts[1] ?? '' };
  }
  const parts = tail.split(':');
  const container = parts.at(-1) ?? '';
  if (parts.length === 1) return { ip: '', host: '', container };
  if (parts.length === 2) return { ip: '', host: parts[0] ?? '', container };
  if (parts.length === 3) return { ip: parts[0] ?? '', host: parts[1] ?? '', container };
  throw invalid(spec, 'an IPv6 address must be in brackets: [::1]:8080:80');
}

/** One `-p` value → its bindings (one per port of a range). */
export function parsePublish(spec: string): PortBinding[] {
  const slash = spec.lastIndexOf('/');
  const proto = slash < 0 ? 'tcp' : spec.slice(slash + 1).toLowerCase();
  if (proto !== 'tcp' && proto !== 'udp')
    throw invalid(spec, `unsupported protocol ${JSON.stringify(proto)} (tcp or udp)`);
  const { ip, host, container } = splitParts(slash < 0 ? spec : spec.slice(0, slash), spec);
  if (ip !== '' && isIP(ip) === 0) throw invalid(spec, `invalid IP address ${JSON.stringify(ip)}`);
  if (container === '') throw invalid(spec, 'no container port');
  const [cStart, cEnd] = portRange(container, 'container port', spec, 1);
  const hostRange = host === '' ? undefined : portRange(host, 'host port', spec, 1);
  if (hostRange && hostRange[1] - hostRange[0] !== cEnd - cStart)
    throw invalid(spec, 'the host and container port ranges are not the same length');
  const out: PortBinding[] = [];
  for (let port = cStart; port <= cEnd; port++) {
    out.push({
      hostIp: ip,
      hostPort: hostRange ? hostRange[0] + (port - cStart) : 0,
      containerPort: port,
      protocol: proto,
    });
  }
  return out;
}

/** One `--expose` value (`80`, `80/udp`, `8000-8010/tcp`) → docker's `PORT/PROTO` keys. */
export function parseExpose(spec: string): string[] {
  const slash = spec.lastIndexOf('/');
  const proto = slash < 0 ? 'tcp' : spec.slice(slash + 1).toLowerCase();
  const range = /^(\d+)(?:-(\d+))?$/.exec(slash < 0 ? spec : spec.slice(0, slash));
  const start = Number(range?.[1]);
  const end = range?.[2] === undefined ? start : Number(range[2]);
  if ((proto !== 'tcp' && proto !== 'udp') || !range || start < 1 || end > 65535 || end < start)
    throw new InvalidArgumentError(`invalid --expose ${JSON.stringify(spec)}`, {
      hint: 'use PORT[/tcp|udp] or a range: 8000-8010/tcp',
    });
  return Array.from({ length: end - start + 1 }, (_, i) => `${start + i}/${proto}`);
}

/** Every `-p`; a container port published twice on one address is refused. */
export function parsePublishFlags(specs: readonly string[]): PortBinding[] {
  const out = specs.flatMap(parsePublish);
  const seen = new Set<string>();
  for (const b of out) {
    const key = `${b.hostIp}|${b.hostPort}|${b.protocol}`;
    if (b.hostPort !== 0 && seen.has(key))
      throw new InvalidArgumentError(
        `-p: host port ${b.hostPort}/${b.protocol} is published twice${b.hostIp ? ` on ${b.hostIp}` : ''}`,
      );
    seen.add(key);
  }
  return out;
}

export function hostAddress(ip: string): string {
  const shown = ip === '' ? '0.0.0.0' : ip;
  return shown.includes(':') ? `[${shown}]` : shown;
}

/**
 * docker's PORTS column: the exposed ports nothing publishes (`8080/tcp`), then the published ones
 * (`127.0.0.1:8080->80/tcp`), consecutive ports of one address and protocol as a range
 * (`0.0.0.0:8000-8001->80-81/tcp`), joined by `, `.
 */
export function displayPorts(ports: readonly PortBinding[], exposed: readonly string[] = []): string {
  return [...unpublished(ports, exposed), published(ports)].filter((part) => part !== '').join(', ');
}

/** Exposed ports no binding publishes (`PORT/PROTO` keys), as docker's `8080/tcp` or `8000-8001/tcp`. */
function unpublished(ports: readonly PortBinding[], exposed: readonly string[]): string[] {
  const bound = new Set(ports.map((p) => `${p.containerPort}/${p.protocol}`));
  const keys = exposed
    .filter((key) => !bound.has(key))
    .map((key) => ({ port: Number(key.split('/')[0]), protocol: key.split('/')[1] ?? 'tcp' }))
    .sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port);
  const out: { first: number; last: number; protocol: string }[] = [];
  for (const k of keys) {
    const group = out.at(-1);
    if (group && group.protocol === k.protocol && k.port === group.last + 1) group.last = k.port;
    else out.push({ first: k.port, last: k.port, protocol: k.protocol });
  }
  return out.map((g) => `${g.first === g.last ? g.first : `${g.first}-${g.last}`}/${g.protocol}`);
}

function published(ports: readonly PortBinding[]): string {
  const sorted = [...ports].sort(
    (a, b) =>
      a.hostIp.localeCompare(b.hostIp) ||
      a.protocol.localeCompare(b.protocol) ||
      a.containerPort - b.containerPort,
  );
  const groups: PortBinding[][] = [];
  for (const p of sorted) {
    const group = groups.at(-1);
    const last = group?.at(-1);
    if (
      group &&
      last &&
      last.hostIp === p.hostIp &&
      last.protocol === p.protocol &&
      p.containerPort === last.containerPort + 1 &&
      p.hostPort === last.hostPort + 1
    )
      group.push(p);
    else groups.push([p]);
  }
  return groups
    .map((g) => {
      const first = g[0] as PortBinding;
      const last = g.at(-1) as PortBinding;
      const range = (a: number, b: number): string => (a === b ? `${a}` : `${a}-${b}`);
      return `${hostAddress(first.hostIp)}:${range(first.hostPort, last.hostPort)}->${range(first.containerPort, last.containerPort)}/${first.protocol}`;
    })
    .join(', ');
}

/**
 * docker's `port`: each published port as `80/tcp -> 127.0.0.1:8080` (by container port), or for one
 * `PORT[/PROTO]` (tcp when not said) only the host addresses. NotFoundError when that one is not published.
 */
export function portLines(ports: readonly PortBinding[], name: string, which?: string): string[] {
  const sorted = [...ports].sort(
    (a, b) => a.containerPort - b.containerPort || a.protocol.localeCompare(b.protocol),
  );
  const host = (p: PortBinding): string => `${hostAddress(p.hostIp)}:${p.hostPort}`;
  if (which === undefined) return sorted.map((p) => `${p.containerPort}/${p.protocol} -> ${host(p)}`);
  const m = /^(\d+)(?:\/(tcp|udp))?$/.exec(which);
  if (m === null)
    throw new InvalidArgumentError(`invalid port ${JSON.stringify(which)}`, {
      hint: 'PORT or PORT/PROTO: 80/tcp',
    });
  const [port, protocol = 'tcp'] = [Number(m[1]), m[2]];
  const found = sorted.filter((p) => p.containerPort === port && p.protocol === protocol);
  if (found.length === 0)
    throw new NotFoundError(`No public port '${port}/${protocol}' published for ${name}`);
  return found.map(host);
}
