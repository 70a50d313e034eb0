/** ContainerInfo fixtures and a fake `Containers` for the container commands' unit tests. */
import type { ContainerInfo, ContainerRecord, ContainerState, Containers } from '../../runner/index.js';
import { NotFoundError } from '../../core/index.js';

export const NOW = Date.parse('2026-12-06T12:00:00Z');

export function ago(seconds: number): string {
  return new Date(NOW - seconds * 1000).toISOString();
}

export function info(
  record: Partial<ContainerRecord> & { readonly id: string },
  state: Partial<ContainerState> = {},
): ContainerInfo {
  return {
    record: {
      name: `c-${record.id.slice(0, 4)}`,
      created: ago(60),
      spec: { image: 'busybox' },
      imageId: 'sha256:' + 'b'.repeat(64),
      parentSnapshot: undefined,
      snapshot: 'snap',
      path: 'sh',
      args: ['-c', 'echo hi'],
      env: ['PATH=/bin'],
      workdir: '/',
      user: '',
      hostname: record.id.slice(0, 12),
      stopSignal: 'SIGTERM',
      stopTimeout: 10,
      volumes: [],
      ...record,
    },
    state: {
      status: 'running',
      pid: 42,
      exitCode: 0,
      error: '',
      oomKilled: false,
      startedAt: ago(3),
      finishedAt: '',
      restartCount: 0,
      stoppedByUser: false,
      networks: [],
      ports: [],
      ...state,
    },
  };
}

export interface Call {
  readonly method: string;
  readonly args: unknown[];
}

/** A Containers whose every method records its call; `fail` names refs that are not found. */
export function fakeContainers(
  options: { fail?: readonly string[]; infos?: readonly ContainerInfo[]; waitExit?: number } = {},
): { containers: Containers; calls: Call[] } {
  const calls: Call[] = [];
  const check = (ref: string): void => {
    if (options.fail?.includes(ref)) throw new NotFoundError(`No such container: ${ref}`);
  };
  const find = (ref: string): ContainerInfo => {
    check(ref);
    const found = options.infos?.find((i) => i.record.id.startsWith(ref) || i.record.name === ref);
    if (!found) throw new NotFoundError(`No such container: ${ref}`);
    return found;
  };
  const record =
    (method: string) =>
    async (...args: unknown[]): Promise<void> => {
      calls.push({ method, args });
      check(args[0] as string);
    };
  const containers: Containers = {
    create: async (spec) => {
      calls.push({ method: 'create', args: [spec] });
      return info({ id: 'f'.repeat(64), spec });
    },
    start: record('start'),
    run: async (spec, opts) => {
      calls.push({ method: 'run', args: [spec, opts] });
      return { id: 'e'.repeat(64), ...(opts?.detach ? {} : { exitCode: options.waitExit ?? 0 }) };
    },
    stop: record('stop'),
    restart: record('restart'),
    kill: record('kill'),
    remove: record('remove'),
    pause: record('pause'),
    unpause: record('unpause'),
    wait: async (ref, opts) => {
      calls.push({ method: 'wait', args: [ref, opts] });
      check(ref);
      return { exitCode: options.waitExit ?? 0 };
    },
    inspect: async (ref) => {
      calls.push({ method: 'inspect', args: [ref] });
      return find(ref);
    },
    list: async (opts) => {
      calls.push({ method: 'list', args: [opts] });
      return [...(options.infos ?? [])];
    },
    logs: async (ref, opts) => {
      calls.push({ method: 'logs', args: [ref, opts] });
      check(ref);
      opts?.onOutput?.('stdout', Buffer.from('out\n'));
      opts?.onOutput?.('stderr', Buffer.from('err\n'));
    },
    exec: async (ref, spec, opts) => {
      calls.push({ method: 'exec', args: [ref, spec, opts] });
      check(ref);
      return { exitCode: options.waitExit ?? 0 };
    },
    top: async (ref, opts) => {
      calls.push({ method: 'top', args: [ref, opts] });
      return { titles: ['UID', 'PID', 'CMD'], processes: [['root', '1', 'sh']] };
    },
    prune: async (opts) => {
      calls.push({ method: 'prune', args: [opts] });
      return { removed: ['a'.repeat(64)] };
    },
  };
  return { containers, calls };
}

/** Collects what a command prints. */
export function captureIO(): {
  io: { out: (t: string) => void; err: (t: string) => void };
  out: string[];
  err: string[];
} {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t) => void out.push(t), err: (t) => void err.push(t) }, out, err };
}
