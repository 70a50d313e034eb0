/**
 * The runner's parts plugged into the lifecycle's seams (hooks.ts), for one root: docker's json-file
 * log, the HEALTHCHECK monitor, `top` over the host's ps, volumes (docker's local driver), the
 * container's network (network/: a namespace on a bridge, its hosts file) and the published ports'
 * proxy. The engine's runtime and the detached supervisor both take their hooks from here.
 */
import { join } from 'node:path';
import { cleanupContainer, setUpContainerNetwork, startPortProxy } from '../network/index.js';
import { startHealthMonitor } from './health.js';
import type { ContainerHooks, MonitorContext, NetworkSetup } from './hooks.js';
import { openJsonLog } from './logs.js';
import { readJsonLog } from './logs-read.js';
import { createMountVolumes } from './mounts.js';
import { ContainerStore } from './store.js';
import { topProcesses } from './top.js';
import type { ContainerRecord } from './types.js';
import { containerVolumeHooks } from './volume-hooks.js';
import { VolumeStore } from './volume-store.js';
import type { VolumeUsers } from './volume-types.js';

/** A container's json-file log: `<dir>/<id>-json.log`, as docker names it. */
export function containerLogPath(dir: string, id: string): string {
  return join(dir, `${id}-json.log`);
}

/** Which containers (by name), running or not, mount volume `name`: docker counts stopped ones too. */
export function containersUsingVolume(root: string): VolumeUsers {
  return (name) =>
    Promise.resolve(
      new ContainerStore(root)
        .records()
        .filter((record) => record.volumes.includes(name))
        .map((record) => record.name),
    );
}

const volumeStores = new Map<string, VolumeStore>();

/** The volume store of `root` (one per root in this process), told which containers use a volume. */
export function rootVolumeStore(root: string): VolumeStore {
  let store = volumeStores.get(root);
  if (store === undefined) {
    store = new VolumeStore(root, { usedBy: containersUsingVolume(root) });
    volumeStores.set(root, store);
  }
  return store;
}

function monitor(context: MonitorContext): ReturnType<NonNullable<ContainerHooks['monitor']>> {
  const config = context.record.healthcheck;
  if (config === undefined) return undefined;
  return startHealthMonitor({
    config,
    probe: (args, { timeoutMs, signal }) =>
      context.exec(args, AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])),
    onChange: (health) => void context.updateState((s) => ({ ...s, health })).catch(() => undefined),
  });
}

async function attachNetwork(
  root: string,
  record: ContainerRecord,
  signal?: AbortSignal,
): Promise<NetworkSetup> {
  const spec = record.spec;
  const net = await setUpContainerNetwork({
    root,
    containerId: record.id,
    containerName: record.name,
    hostname: record.hostname,
    ...(spec.network !== undefined ? { network: spec.network } : {}),
    ...(spec.networkAliases ? { aliases: spec.networkAliases } : {}),
    ...(spec.extraHosts ? { extraHosts: spec.extraHosts } : {}),
    ...(spec.ports ? { ports: spec.ports } : {}),
    proxy: false, // the supervisor publishes them: it lives as long as the container
    ...(signal ? { signal } : {}),
  });
  return { run: net.run, networks: net.attachments };
}

/** Every hook, for the engine's runtime and for the detached supervisor of the containers of `root`. */
export function runnerHooks(root: string): ContainerHooks {
  const volumes = containerVolumeHooks(rootVolumeStore(root));
  return {
    logSink: (dir, record) =>
      openJsonLog(containerLogPath(dir, record.id), {
        ...(record.spec.logOptions?.maxSize !== undefined ? { maxSize: record.spec.logOptions.maxSize } : {}),
        ...(record.spec.logOptions?.maxFiles !== undefined
          ? { maxFiles: record.spec.logOptions.maxFiles }
          : {}),
      }),
    readLogs: (dir, record, options) =>
      readJsonLog(containerLogPath(dir, record.id), {
        ...options,
        onOutput: options.onOutput ?? (() => undefined),
      }),
    monitor,
    formatTop: (pids, psArgs, signal) =>
      topProcesses({ pids: [...pids], psArgs: [...psArgs], ...(signal ? { signal } : {}) }),
    resolveMounts: volumes.resolveMounts,
    removeVolumes: volumes.removeVolumes,
    createMounts: (specs, signal) =>
      createMountVolumes([...specs], { volumes: rootVolumeStore(root), ...(signal ? { signal } : {}) }),
    network: {
      attach: (record, signal) => attachNetwork(root, record, signal),
      detach: (record) => cleanupContainer({ root, containerId: record.id }),
    },
    publish: async (record, state) => {
      const targetIp = state.networks[0]?.ipAddress ?? '';
      const proxy = await startPortProxy({ bindings: record.spec.ports ?? [], targetIp });
      return { ports: proxy.bound, close: () => proxy.close() };
    },
  };
}
