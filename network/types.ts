/**
 * The networks' plain data: a network's record on disk (`<root>/networks/<id>.json`), one endpoint per
 * attached container, and what attaching a container gives the runner.
 */

/** `-p [ip:]host:container[/proto]`; hostPort 0 = a free port chosen at start. */
export interface PortBinding {
  readonly hostIp: string;
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: 'tcp' | 'udp';
}

/** The container's network attachment while it runs. */
export interface NetworkAttachment {
  readonly network: string;
  readonly networkId: string;
  readonly ipAddress: string;
  readonly prefixLen: number;
  readonly gateway: string;
  readonly macAddress: string;
  readonly aliases: readonly string[];
}

/** A container attached to a network: its address and the names others find it by. */
export interface Endpoint {
  readonly containerId: string;
  readonly containerName: string;
  readonly hostname: string;
  readonly aliases: readonly string[];
  /** `--add-host name:ip` lines, appended to its hosts file. */
  readonly extraHosts: readonly string[];
  readonly ipAddress: string;
  readonly macAddress: string;
}

/** One network as stored; `endpoints` is the IPAM state (every address handed out). */
export interface NetworkRecord {
  readonly name: string;
  /** 64 hex digits. */
  readonly id: string;
  readonly driver: 'bridge';
  /** 'a.b.c.d/n'. */
  readonly subnet: string;
  readonly gateway: string;
  /** The Linux bridge device (≤ 15 characters). */
  readonly bridge: string;
  /** RFC 3339. */
  readonly created: string;
  readonly labels: Readonly<Record<string, string>>;
  /** No NAT, no route out: only the containers on it reach each other. */
  readonly internal: boolean;
  /** By container id. */
  readonly endpoints: Readonly<Record<string, Endpoint>>;
}

export interface CreateNetworkOptions {
  readonly root: string;
  readonly name: string;
  /** Default: the first free /24 of 172.30.0.0/16 that overlaps nothing on the host. */
  readonly subnet?: string;
  /** Default: the subnet's first host address. */
  readonly gateway?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly internal?: boolean;
  readonly signal?: AbortSignal;
}

export interface ConnectOptions {
  readonly root: string;
  /** 'bridge' (the default network) or a user network's name or id. */
  readonly networkName: string;
  readonly containerId: string;
  readonly containerName: string;
  readonly hostname: string;
  /** `--network-alias`: more names the container is found by (user networks only, as docker). */
  readonly aliases?: readonly string[];
  /** `--add-host name:ip`. */
  readonly extraHosts?: readonly string[];
  /**
   * Release first whatever an earlier attachment of this container left (a crashed start: its devices,
   * its address), its address under the same lock as the new one's, instead of refusing it.
   */
  readonly replace?: boolean;
  readonly signal?: AbortSignal;
}

export interface ConnectResult {
  /** The network namespace file to give runc (`RunRequest.network: { netnsPath }`). */
  readonly netnsPath: string;
  readonly attachment: NetworkAttachment;
  /** The container's /etc/hosts, kept up to date in place: bind-mount it, never copy it. */
  readonly hostsPath: string;
}

export interface ContainerRef {
  readonly root: string;
  readonly containerId: string;
  readonly signal?: AbortSignal;
}
