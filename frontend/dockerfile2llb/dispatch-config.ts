/**
 * The instructions that only change the image config: CMD, ENTRYPOINT, LABEL, EXPOSE, VOLUME,
 * STOPSIGNAL, HEALTHCHECK, SHELL, ONBUILD and MAINTAINER, with docker's rules (a new ENTRYPOINT resets
 * an inherited CMD; ONBUILD triggers are stored as written) and BuildKit's history texts.
 */
import { DockerfileError } from '../../core/index.js';
import type { Instruction } from '../instructions/index.js';
import { goQuote } from '../../parser/index.js';
import { checkPairsSize, commitToHistory, goQuotedRune, goQuotedSlice, goSlice, withShell } from './image.js';
import type { StageState } from './stage-state.js';

const SIGNALS = [
  'HUP',
  'INT',
  'QUIT',
  'ILL',
  'TRAP',
  'ABRT',
  'IOT',
  'BUS',
  'FPE',
  'KILL',
  'USR1',
  'SEGV',
  'USR2',
  'PIPE',
  'ALRM',
  'TERM',
  'STKFLT',
  'CHLD',
  'CONT',
  'STOP',
  'TSTP',
  'TTIN',
  'TTOU',
  'URG',
  'XCPU',
  'XFSZ',
  'VTALRM',
  'PROF',
  'WINCH',
  'IO',
  'POLL',
  'PWR',
  'SYS',
];

function checkSignal(signal: string): void {
  const name = signal.toUpperCase().replace(/^SIG/, '');
  if (/^\d+$/.test(signal) && Number(signal) > 0 && Number(signal) <= 64) return;
  if (SIGNALS.includes(name) || /^RTM(IN|AX)([+-]\d+)?$/.test(name)) return;
  throw new DockerfileError(`invalid signal: ${signal}`, { hint: 'use a name like SIGTERM or a number' });
}

/** Go's time.Duration.String() of a nanosecond count (`1m30s`, `500ms`, `0s`). */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  let n = Math.abs(ns);
  if (n < 1e9) {
    if (n < 1e3) return `${sign}${n}ns`;
    if (n < 1e6) return `${sign}${n / 1e3}µs`;
    return `${sign}${n / 1e6}ms`;
  }
  const hours = Math.floor(n / 3.6e12);
  n -= hours * 3.6e12;
  const minutes = Math.floor(n / 6e10);
  n -= minutes * 6e10;
  const seconds = `${n / 1e9}s`;
  return `${sign}${hours > 0 ? `${hours}h${minutes}m` : minutes > 0 ? `${minutes}m` : ''}${seconds}`;
}

/** `80`, `80/udp`, `8000-8002/tcp` → `80/tcp`-style port specs (ranges expanded), sorted like docker. */
export function parsePorts(ports: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of ports) {
    const [spec = '', proto = 'tcp'] = raw.split('/', 2);
    const port = spec.includes(':') ? (spec.split(':').pop() ?? '') : spec;
    const range = /^(\d+)(?:-(\d+))?$/.exec(port);
    if (!range || !/^(tcp|udp|sctp)$/i.test(proto))
      throw new DockerfileError(`invalid containerPort: ${raw}`);
    const start = Number(range[1]);
    const end = range[2] === undefined ? start : Number(range[2]);
    if (start > 65535 || end > 65535 || end < start) throw new DockerfileError(`invalid port range: ${raw}`);
    for (let p = start; p <= end; p++) out.add(`${p}/${proto.toLowerCase()}`);
  }
  return [...out];
}

export function dispatchImageConfig(d: StageState, c: Instruction): void {
  const config = d.image.config;
  switch (c.kind) {
    case 'cmd': {
      const args = c.prependShell ? withShell(d.image, c.cmdLine) : [...c.cmdLine];
      config.Cmd = args;
      config.ArgsEscaped = true;
      d.cmdSet = true;
      return commitToHistory(d.image, `CMD ${goQuotedSlice(args)}`, false);
    }
    case 'entrypoint': {
      const args = c.prependShell ? withShell(d.image, c.cmdLine) : [...c.cmdLine];
      config.Entrypoint = args;
      if (!d.cmdSet) config.Cmd = null;
      return commitToHistory(d.image, `ENTRYPOINT ${goQuotedSlice(args)}`, false);
    }
    case 'label': {
      const env = d.env();
      const pairs = c.labels.map(
        (kv) => [d.lex.processWord(kv.key, env), d.lex.processWord(kv.value, env)] as const,
      );
      checkPairsSize("the image's labels", [...Object.entries(config.Labels ?? {}), ...pairs]);
      config.Labels = { ...(config.Labels ?? {}) };
      for (const [key, value] of pairs) config.Labels[key] = value;
      return commitToHistory(d.image, `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, false);
    }
    case 'expose': {
      const words = c.ports.flatMap((p) => d.expandWords(p));
      const ports = parsePorts(words);
      config.ExposedPorts = { ...(config.ExposedPorts ?? {}) };
      for (const p of ports) config.ExposedPorts[p] = {};
      return commitToHistory(d.image, `EXPOSE ${goSlice(ports)}`, false);
    }
    case 'volume': {
      const volumes = c.volumes.map((v) => d.expand(v));
      config.Volumes = { ...(config.Volumes ?? {}) };
      for (const v of volumes) {
        if (v === '') throw new DockerfileError('VOLUME specified can not be an empty string');
        config.Volumes[v] = {};
      }
      return commitToHistory(d.image, `VOLUME ${goSlice(volumes)}`, false);
    }
    case 'stopsignal': {
      const signal = d.expand(c.signal);
      checkSignal(signal);
      config.StopSignal = signal;
      return commitToHistory(d.image, `STOPSIGNAL ${signal}`, false);
    }
    case 'healthcheck':
      return healthcheck(d, c.health);
    case 'shell':
      config.Shell = [...c.shell];
      return commitToHistory(d.image, `SHELL ${goSlice(c.shell)}`, false);
    case 'onbuild':
      config.OnBuild = [...(config.OnBuild ?? []), c.expression];
      return undefined;
    case 'maintainer':
      d.image.author = c.maintainer;
      return commitToHistory(d.image, `MAINTAINER ${c.maintainer}`, false);
    default:
      throw new DockerfileError(`unexpected instruction ${c.kind}`);
  }
}

function healthcheck(
  d: StageState,
  h: {
    test: readonly string[];
    interval: number;
    timeout: number;
    startPeriod: number;
    startInterval: number;
    retries: number;
  },
): void {
  const hc = {
    Test: [...h.test],
    ...(h.interval ? { Interval: h.interval } : {}),
    ...(h.timeout ? { Timeout: h.timeout } : {}),
    ...(h.startPeriod ? { StartPeriod: h.startPeriod } : {}),
    ...(h.startInterval ? { StartInterval: h.startInterval } : {}),
    ...(h.retries ? { Retries: h.retries } : {}),
  };
  d.image.config.Healthcheck = hc;
  // BuildKit writes `fmt.Sprintf("HEALTHCHECK %q", config.Healthcheck)`: Go's %q of the struct pointer.
  const durations = [h.interval, h.timeout, h.startPeriod, h.startInterval].map((ns) =>
    goQuote(goDuration(ns)),
  );
  const text = `&{${goQuotedSlice(h.test)} ${durations.join(' ')} ${goQuotedRune(h.retries)}}`;
  commitToHistory(d.image, `HEALTHCHECK ${text}`, false);
}
