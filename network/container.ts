/**
 * A container's whole network as its supervisor sets it up at start and releases it at exit, from the
 * spec's `--network`, `--network-alias`, `--add-host` and `-p`: what to give the executor, the
 * attachment and the bound ports for the container's state, and one `release`. `host` shares the host's
 * stack (no namespace of ours: as docker, no published ports there); `none` is a namespace with only lo,
 * made by runc; `bridge` (the default) and a user network are a `connect` plus a port proxy.
 */
import { InvalidArgumentError } from '../core/index.js';
import type { NetworkRunFields } from '../executor/index.js';
import { cleanupContainer, connect } from './attach.js';
import { startPortProxy } from './proxy.js';
import type { PortProxy } from './proxy.js';
import { DEFAULT_NETWORK } from './store.js';
import type { NetworkAttachment, PortBinding } from './types.js';

export interface ContainerNetworkOptions {
  readonly root: string;
  readonly containerId: string;
  readonly containerName: string;
  readonly hostname: string;
  /** `--network`: 'bridge' (default), 'host', 'none' or a user network's name or id. */
  readonly network?: string;
  readonly aliases?: readonly string[];
  readonly extraHosts?: readonly string[];
  readonly ports?: readonly PortBinding[];
  /**
   * false: `ports` are checked against the mode but not published here, for a caller whose process
   * does not live as long as the container (the container's supervisor starts `startPortProxy`).
   */
  readonly proxy?: boolean;
  readonly signal?: AbortSignal;
}

export interface ContainerNetwork {
  /** The executor's RunRequest fields: `network`, and `hostsPath` or `extraHosts` (and `hostEtcHosts`). */
  readonly run: NetworkRunFields;
  /** For ContainerState.networks (empty for host and none). */
  readonly attachments: readonly NetworkAttachment[];
  /** For ContainerState.ports: the bindings as bound (hostPort 0 resolved). */
  readonly ports: readonly PortBinding[];
  /** Closes the port proxy and detaches the container (idempotent). */
  release(): Promise<void>;
}

function refuseOnShared(mode: string, options: ContainerNetworkOptions): void {
  if ((options.ports ?? []).length > 0)
    throw new InvalidArgumentError(`-p cannot publish ports with --network ${mode}`, {
      hint: mode === 'host' ? "the container already uses the host's ports" : 'use a bridge network',
    });
  if ((options.aliases ?? []).length > 0)
    throw new InvalidArgumentError(`--network-alias needs a user-defined network, not --network ${mode}`);
}

/** Sets up the container's network (see the module's comment); undone whole when a step fails. */
export async function setUpContainerNetwork(options: ContainerNetworkOptions): Promise<ContainerNetwork> {
  const mode = options.network ?? DEFAULT_NETWORK;
  const extraHosts = options.extraHosts ?? [];
  if (mode === 'host' || mode === 'none') {
    refuseOnShared(mode, options);
    return {
      // docker's host networking: the host's /etc/hosts (its hostname is the host's too: resolve.ts)
      run: { network: mode, extraHosts, ...(mode === 'host' ? { hostEtcHosts: true } : {}) },
      attachments: [],
      ports: [],
      release: () => Promise.resolve(),
    };
  }
  const { root, containerId } = options;
  // `replace`: what a crashed run of it left goes first.
  const attached = await connect({ ...options, networkName: mode, extraHosts, replace: true });
  let proxy: PortProxy | undefined;
  try {
    // Not given the signal: the proxy lives until release, whatever becomes of the setup's signal.
    const bindings = options.proxy === false ? [] : (options.ports ?? []);
    proxy = await startPortProxy({ bindings, targetIp: attached.attachment.ipAddress });
  } catch (err) {
    await cleanupContainer({ root, containerId });
    throw err;
  }
  const opened = proxy;
  return {
    run: { network: { netnsPath: attached.netnsPath }, hostsPath: attached.hostsPath },
    attachments: [attached.attachment],
    ports: opened.bound,
    release: async () => {
      await opened.close();
      await cleanupContainer({ root, containerId });
    },
  };
}
