/**
 * docker's State.OOMKilled: whether the kernel's OOM killer ran in the container's memory cgroup while
 * its process ran. The cgroup's own counters (cgroup v1's `oom_kill` in memory.oom_control, v2's
 * memory.events) cannot be read after the exit: `runc run` removes the cgroup before it returns. So the
 * OOM is caught as it happens, by `runc events`, which reports an `oom` event from the same counters (an
 * eventfd on memory.oom_control on v1, memory.events on v2) and ends once the cgroup is gone.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface OomWatch {
  /** Whether an OOM kill was reported; ends the watch, once the events on their way were read. */
  stop(): Promise<boolean>;
}

/** How long `stop` waits for `runc events` to end by itself (it does once the container is gone). */
const DRAIN_MS = 500;

/** Watches the running container `id` of the runc state directory `stateDir` for OOM kills. */
export function watchOom(runc: { readonly runc: string; readonly stateDir: string }, id: string): OomWatch {
  let oomKilled = false;
  // No stats wanted, only the OOM events: an interval that never comes.
  const child = spawn(runc.runc, ['--root', runc.stateDir, 'events', '--interval', '87600h', id], {
    stdio: ['ignore', 'pipe', 'ignore'],
    // Its own process group: a terminal's Ctrl-C to an attached run must not end the watch.
    detached: true,
  });
  const ended = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.once('error', () => resolve()); // no runc events: no OOM reported, as before
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (isOomEvent(line)) oomKilled = true;
  });
  return {
    async stop() {
      const timer = setTimeout(() => child.kill('SIGKILL'), DRAIN_MS);
      await ended;
      clearTimeout(timer);
      return oomKilled;
    },
  };
}

/** A line of `runc events`: `{"type":"oom","id":"…"}` for an OOM. */
export function isOomEvent(line: string): boolean {
  try {
    return (JSON.parse(line) as { type?: unknown }).type === 'oom';
  } catch {
    return false;
  }
}
