/** A network as `docker network inspect` prints it (the Engine API's NetworkResource). */
import { recordSubnet } from './store.js';
import type { NetworkRecord } from './types.js';

export interface NetworkContainerInspect {
  readonly Name: string;
  readonly MacAddress: string;
  /** 'a.b.c.d/n'. */
  readonly IPv4Address: string;
  readonly IPv6Address: string;
}

export interface NetworkInspect {
  readonly Name: string;
  readonly Id: string;
  readonly Created: string;
  readonly Scope: 'local';
  readonly Driver: 'bridge';
  readonly EnableIPv6: false;
  readonly IPAM: {
    readonly Driver: 'default';
    readonly Options: Readonly<Record<string, string>>;
    readonly Config: readonly { readonly Subnet: string; readonly Gateway: string }[];
  };
  readonly Internal: boolean;
  readonly Attachable: false;
  readonly Ingress: false;
  /** By container id. */
  readonly Containers: Readonly<Record<string, NetworkContainerInspect>>;
  readonly Options: Readonly<Record<string, string>>;
  readonly Labels: Readonly<Record<string, string>>;
}

export function networkInspect(record: NetworkRecord): NetworkInspect {
  const prefixLen = recordSubnet(record).prefixLen;
  const containers: Record<string, NetworkContainerInspect> = {};
  for (const e of Object.values(record.endpoints))
    containers[e.containerId] = {
      Name: e.containerName,
      MacAddress: e.macAddress,
      IPv4Address: `${e.ipAddress}/${prefixLen}`,
      IPv6Address: '',
    };
  return {
    Name: record.name,
    Id: record.id,
    Created: record.created,
    Scope: 'local',
    Driver: record.driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: record.subnet, Gateway: record.gateway }] },
    Internal: record.internal,
    Attachable: false,
    Ingress: false,
    Containers: containers,
    Options: { 'com.docker.network.bridge.name': record.bridge },
    Labels: { ...record.labels },
  };
}
