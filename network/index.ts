export type {
  ConnectOptions,
  ConnectResult,
  ContainerRef,
  CreateNetworkOptions,
  Endpoint,
  NetworkAttachment,
  NetworkRecord,
  PortBinding,
} from './types.js';
export { cleanupContainer, connect, disconnect, hostVethName, netnsPath } from './attach.js';
export { createNetwork, inspectNetwork, listNetworks, pruneNetworks, removeNetwork } from './manage.js';
export { DEFAULT_NETWORK, PREDEFINED_NETWORKS, SUBNET_POOL } from './store.js';
export { formatBinding, startPortProxy } from './proxy.js';
export type { PortProxy, PortProxyOptions } from './proxy.js';
export { networkInspect } from './inspect.js';
export type { NetworkContainerInspect, NetworkInspect } from './inspect.js';
export { setUpContainerNetwork } from './container.js';
export type { ContainerNetwork, ContainerNetworkOptions } from './container.js';
export { sweepOrphanBridges } from './bridge.js';
