/**
 * Published ports (`-p [ip:]host:container[/udp]`) by a user-space proxy, as docker-proxy: a TCP
 * listener (node:net) or a UDP socket (node:dgram) on hostIp:hostPort that forwards to the container's
 * address. It runs in the container's supervisor process, so it lives exactly as long as the container.
 * docker also programs DNAT rules for traffic from other hosts; the proxy alone serves every client
 * that can reach the host address it listens on (local ones included, which DNAT in PREROUTING never
 * sees), and it sends traffic only to the container's address, which is ours.
 *
 * UDP has no connections: each client (address and port) gets its own upstream socket, so that the
 * container's replies go back to the client that asked; one that is idle for `udpIdleTimeout` is closed.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { createServer, connect as tcpConnect, isIPv6 } from 'node:net';
import type { Server, Socket } from 'node:net';
import { CancelledError, FailedPreconditionError } from '../core/index.js';
import type { PortBinding } from './types.js';

export interface PortProxyOptions {
  readonly bindings: readonly PortBinding[];
  /** The container's address. */
  readonly targetIp: string;
  /** Milliseconds a UDP client's upstream socket lives without traffic (default 30 s). */
  readonly udpIdleTimeout?: number;
  /** Closes the proxy. */
  readonly signal?: AbortSignal;
}

export interface PortProxy {
  /** The bindings as bound (hostPort 0 resolved to the port the kernel chose). */
  readonly bound: readonly PortBinding[];
  close(): Promise<void>;
}

interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

export function formatBinding(b: PortBinding): string {
  const ip = b.hostIp === '' ? '' : `${isIPv6(b.hostIp) ? `[${b.hostIp}]` : b.hostIp}:`;
  return `${ip}${b.hostPort}:${b.containerPort}/${b.protocol}`;
}

function bindError(binding: PortBinding, err: NodeJS.ErrnoException): FailedPreconditionError {
  const why =
    err.code === 'EADDRINUSE'
      ? `port ${binding.hostPort} is already in use`
      : err.code === 'EADDRNOTAVAIL'
        ? `${binding.hostIp} is not an address of this host`
        : err.message;
  return new FailedPreconditionError(`cannot publish -p ${formatBinding(binding)}: ${why}`, { cause: err });
}

function pipeTcp(client: Socket, target: { host: string; port: number }, open: Set<Socket>): void {
  const upstream = tcpConnect({ ...target, allowHalfOpen: true });
  for (const s of [client, upstream]) {
    open.add(s);
    s.once('close', () => open.delete(s));
    s.once('error', () => {
      client.destroy();
      upstream.destroy();
    });
  }
  client.pipe(upstream);
  upstream.pipe(client);
}

function listenTcp(binding: PortBinding, targetIp: string): Promise<Listener> {
  const open = new Set<Socket>();
  const target = { host: targetIp, port: binding.containerPort };
  const server: Server = createServer({ allowHalfOpen: true }, (client) => pipeTcp(client, target, open));
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(bindError(binding, err)));
    server.listen(
      { port: binding.hostPort, host: binding.hostIp === '' ? undefined : binding.hostIp },
      () => {
        const address = server.address();
        resolve({
          port: typeof address === 'object' && address !== null ? address.port : binding.hostPort,
          close: () =>
            new Promise<void>((done) => {
              for (const s of open) s.destroy();
              server.close(() => done());
            }),
        });
      },
    );
  });
}

function udpRelay(server: UdpSocket, targetIp: string, containerPort: number, idle: number) {
  const clients = new Map<string, { socket: UdpSocket; timer: NodeJS.Timeout }>();
  const drop = (key: string): void => {
    const client = clients.get(key);
    clients.delete(key);
    if (client === undefined) return;
    clearTimeout(client.timer);
    client.socket.close();
  };
  const upstreamFor = (from: RemoteInfo) => {
    const key = `${from.address}|${from.port}`;
    let client = clients.get(key);
    if (client === undefined) {
      const socket = createSocket(isIPv6(targetIp) ? 'udp6' : 'udp4');
      socket.on('message', (reply) => {
        server.send(reply, from.port, from.address);
        client?.timer.refresh();
      });
      socket.on('error', () => drop(key));
      client = { socket, timer: setTimeout(() => drop(key), idle) };
      clients.set(key, client);
    }
    client.timer.refresh();
    return client.socket;
  };
  server.on('message', (msg, from) => upstreamFor(from).send(msg, containerPort, targetIp));
  return () => [...clients.keys()].forEach(drop);
}

function listenUdp(binding: PortBinding, targetIp: string, idle: number): Promise<Listener> {
  const family = binding.hostIp !== '' && isIPv6(binding.hostIp) ? 'udp6' : 'udp4';
  const server = createSocket(family);
  const dropAll = udpRelay(server, targetIp, binding.containerPort, idle);
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(bindError(binding, err)));
    server.bind(
      { port: binding.hostPort, address: binding.hostIp === '' ? undefined : binding.hostIp },
      () => {
        server.removeAllListeners('error');
        server.on('error', () => undefined); // a send to a gone client: nothing to do
        resolve({
          port: server.address().port,
          close: () =>
            new Promise<void>((done) => {
              dropAll();
              server.close(() => done());
            }),
        });
      },
    );
  });
}

/** Listens on every binding; one that cannot be bound closes the others and throws, naming it. */
export async function startPortProxy(options: PortProxyOptions): Promise<PortProxy> {
  if (options.signal?.aborted) throw new CancelledError();
  const idle = options.udpIdleTimeout ?? 30_000;
  const listeners: Listener[] = [];
  const bound: PortBinding[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(listeners.splice(0).map((l) => l.close()));
  };
  try {
    for (const binding of options.bindings) {
      const listener =
        binding.protocol === 'udp'
          ? await listenUdp(binding, options.targetIp, idle)
          : await listenTcp(binding, options.targetIp);
      listeners.push(listener);
      bound.push({ ...binding, hostPort: listener.port });
    }
  } catch (err) {
    await close();
    throw err;
  }
  options.signal?.addEventListener('abort', () => void close(), { once: true });
  return { bound, close };
}
