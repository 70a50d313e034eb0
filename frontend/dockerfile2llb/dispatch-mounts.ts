/** `RUN --mount=…` → llb mounts: bind (context, stage or image), cache, tmpfs, secret and ssh. */
import { posix } from 'node:path';
import { DockerfileError } from '../../core/index.js';
import * as llb from '../../llb/index.js';
import type { MountSpec, State } from '../../llb/index.js';
import { clean } from '../../fsutil/index.js';
import { parseMount } from '../instructions/index.js';
import type { RunInstruction, RunMount } from '../instructions/index.js';
import type { Dispatcher } from './dispatcher.js';
import type { StageState } from './stage-state.js';

/** The state a mount reads: the context, an earlier stage, or an image. */
async function mountSource(dx: Dispatcher, d: StageState, m: RunMount): Promise<State> {
  if (m.from === undefined || m.from === '') {
    dx.contextPaths.add(posix.join('/', m.source ?? ''));
    return dx.context;
  }
  const stage = await dx.stageByRef(m.from);
  if (stage) return stage.state;
  if (m.from === 'scratch') throw new DockerfileError('cannot mount from scratch');
  return dx.imageState(m.from);
}

function targetOf(d: StageState, m: RunMount): string {
  const raw = m.target ?? '';
  const target = posix.join('/', raw.startsWith('/') ? '' : d.state.cwd, raw);
  if (target === '/') throw new DockerfileError(`invalid mount target ${JSON.stringify(raw)}`);
  return target;
}

function secretMounts(m: RunMount): MountSpec[] {
  let id = m.source ?? m.id ?? '';
  if (id === '') {
    if (m.target === undefined || m.target === '')
      throw new DockerfileError('one of source, target required');
    id = posix.basename(m.target);
  }
  const owner = { uid: m.uid ?? 0, gid: m.gid ?? 0, mode: m.mode ?? 0o400, required: m.required };
  const out: MountSpec[] = [];
  if (m.env !== undefined)
    out.push({ type: 'secret', id, env: m.env === '' ? id.toUpperCase() : m.env, ...owner });
  if (m.env === undefined || (m.target !== undefined && m.target !== '')) {
    out.push({ type: 'secret', id, dest: m.target || `/run/secrets/${posix.basename(id)}`, ...owner });
  }
  return out;
}

/**
 * The state a cache mount starts from and the path of it that is mounted. With uid, gid or mode (and no
 * source=), as BuildKit does, a /cache directory made with them on the from state (scratch by default):
 * since a seeded cache is keyed by its id and its seed, these values (even the defaults, spelled out)
 * make another cache than the same id without them.
 */
function cacheSeed(from: State | undefined, m: RunMount): { from?: State; selector: string } {
  const selector = posix.join('/', m.source ?? '');
  const owned = m.uid !== undefined || m.gid !== undefined || m.mode !== undefined;
  if (selector !== '/' || !owned) return from ? { from, selector } : { selector };
  const chown = { user: m.uid ?? 0, group: m.gid ?? 0 };
  const made = (from ?? llb.scratch()).file(llb.mkdir('/cache', m.mode ?? 0o755, { chown }), {
    description: { 'llb.customname': '[internal] setting cache mount permissions' },
  });
  return { from: made, selector: '/cache' };
}

async function toMounts(dx: Dispatcher, d: StageState, m: RunMount, sshIndex: number): Promise<MountSpec[]> {
  switch (m.type) {
    case 'secret':
      return secretMounts(m);
    case 'ssh':
      return [
        {
          type: 'ssh',
          id: m.id || 'default',
          // BuildKit's default socket path, numbered among the RUN's ssh mounts.
          dest: m.target ? posix.join('/', d.state.cwd, m.target) : `/run/buildkit/ssh_agent.${sshIndex}`,
          uid: m.uid ?? 0,
          gid: m.gid ?? 0,
          mode: m.mode ?? 0o600,
          required: m.required,
        },
      ];
    case 'tmpfs':
      return [{ type: 'tmpfs', dest: targetOf(d, m), size: m.sizeLimit ?? 0 }];
    case 'cache': {
      const dest = targetOf(d, m);
      const { from, selector } = cacheSeed(m.from ? await mountSource(dx, d, m) : undefined, m);
      return [
        {
          type: 'cache',
          dest,
          // BuildKit's default id: the target as written, path.Clean'ed (`/c/` and `/c` are one cache).
          id: m.id || clean(m.target ?? dest),
          sharing: m.sharing ?? 'shared',
          ...(from ? { from, ...(selector !== '/' ? { selector } : {}) } : {}),
          uid: m.uid ?? 0,
          gid: m.gid ?? 0,
          mode: m.mode ?? 0o755,
        } as MountSpec,
      ];
    }
    case 'bind': {
      const from = await mountSource(dx, d, m);
      return [
        {
          type: 'bind',
          dest: targetOf(d, m),
          from,
          selector: posix.join('/', m.source ?? ''),
          readonly: m.readOnly,
          ...(m.readOnly ? {} : { noOutput: true }),
        },
      ];
    }
  }
}

export async function dispatchRunMounts(
  dx: Dispatcher,
  d: StageState,
  c: RunInstruction,
): Promise<MountSpec[]> {
  const out: MountSpec[] = [];
  for (const raw of c.mounts) {
    const m = raw.deferred.length > 0 ? parseMount(raw.raw, (word) => d.expand(word)) : raw;
    out.push(...(await toMounts(dx, d, m, out.filter((x) => x.type === 'ssh').length)));
  }
  return out;
}
