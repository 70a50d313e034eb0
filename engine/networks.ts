/** `engine.networks`: docker's network verbs over the root's network store (network/). */
import {
  createNetwork,
  inspectNetwork,
  listNetworks,
  networkInspect,
  pruneNetworks,
  removeNetwork,
} from '../network/index.js';
import type { CreateNetworkOptions, NetworkInspect } from '../network/index.js';

export interface NetworkSignalOptions {
  readonly signal?: AbortSignal;
}

export type NetworkCreateOptions = Omit<CreateNetworkOptions, 'root'>;

/** A name or an unambiguous id prefix names a network; `bridge` is the default one. */
export interface EngineNetworks {
  /** `docker network create`: a bridge network, its subnet given or the first free /24 of 172.30.0.0/16. */
  create(options: NetworkCreateOptions): Promise<NetworkInspect>;
  /** Every network, the default `bridge` first. */
  list(options?: NetworkSignalOptions): Promise<NetworkInspect[]>;
  inspect(ref: string, options?: NetworkSignalOptions): Promise<NetworkInspect>;
  /** Refused for `bridge` and while containers are attached, as docker. */
  remove(ref: string, options?: NetworkSignalOptions): Promise<NetworkInspect>;
  /** Removes every user network without containers; their names. */
  prune(options?: NetworkSignalOptions): Promise<string[]>;
}

export function engineNetworks(root: string): EngineNetworks {
  return {
    create: async (options) => networkInspect(await createNetwork({ ...options, root })),
    list: async ({ signal } = {}) => (await listNetworks({ root, signal })).map(networkInspect),
    inspect: async (ref, { signal } = {}) => networkInspect(await inspectNetwork({ root, ref, signal })),
    remove: async (ref, { signal } = {}) => networkInspect(await removeNetwork({ root, ref, signal })),
    prune: ({ signal } = {}) => pruneNetworks({ root, signal }),
  };
}
