/**
 * The port proxy on loopback (a local TCP echo server and UDP echo socket stand in for a container):
 * TCP and UDP forwarded, hostPort 0 resolved, replies to the right UDP client, a port in use refused
 * by name, everything closed by close() and by the signal.
 */
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import type { Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPortProxy } from '../../network/index.js';

let tcp: Server;
let udp: UdpSocket;
let tcpPort = 0;
let udpPort = 0;

beforeAll(async () => {
  tcp = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  tcpPort = (tcp.address() as { port: number }).port;
  udp = createSocket('udp4');
  udp.on('message', (msg, from) =>
    udp.send(Buffer.concat([Buffer.from('echo:'), msg]), from.port, from.address),
  );
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  udpPort = udp.address().port;
});
afterAll(async () => {
  await new Promise((r) => tcp.close(r));
  udp.close();
});

function tcpRoundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(text));
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks).toString()));
    s.on('error', reject);
  });
}

async function udpRoundTrip(port: number, text: string): Promise<string> {
  const client = createSocket('udp4');
  try {
    const reply = new Promise<string>((r) => client.once('message', (m) => r(m.toString())));
    client.send(text, port, '127.0.0.1');
    return await reply;
  } finally {
    client.close();
  }
}

describe('startPortProxy', () => {
  it('forwards TCP and UDP, with hostPort 0 resolved', async () => {
    const proxy = await startPortProxy({
      bindings: [
        { hostIp: '127.0.0.1', hostPort: 0, containerPort: tcpPort, protocol: 'tcp' },
        { hostIp: '127.0.0.1', hostPort: 0, containerPort: udpPort, protocol: 'udp' },
      ],
      targetIp: '127.0.0.1',
    });
    try {
      const [t, u] = proxy.bound;
      expect(t?.hostPort).toBeGreaterThan(0);
      expect(u?.protocol).toBe('udp');
      expect(await tcpRoundTrip(t?.hostPort ?? 0, 'hello tcp')).toBe('hello tcp');
      const [a, b] = await Promise.all([
        udpRoundTrip(u?.hostPort ?? 0, 'one'),
        udpRoundTrip(u?.hostPort ?? 0, 'two'),
      ]);
      expect([a, b]).toEqual(['echo:one', 'echo:two']);
    } finally {
      await proxy.close();
    }
  });

  it('refuses a port in use, naming the binding, and closes what it had bound', async () => {
    const first = await startPortProxy({
      bindings: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: tcpPort, protocol: 'tcp' }],
      targetIp: '127.0.0.1',
    });
    const taken = first.bound[0]?.hostPort ?? 0;
    try {
      const err = await startPortProxy({
        bindings: [
          { hostIp: '127.0.0.1', hostPort: 0, containerPort: udpPort, protocol: 'udp' },
          { hostIp: '127.0.0.1', hostPort: taken, containerPort: 80, protocol: 'tcp' },
        ],
        targetIp: '127.0.0.1',
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'FAILED_PRECONDITION' });
      expect((err as Error).message).toBe(
        `cannot publish -p 127.0.0.1:${taken}:80/tcp: port ${taken} is already in use`,
      );
    } finally {
      await first.close();
    }
  });

  it('closes when its signal aborts', async () => {
    const abort = new AbortController();
    const proxy = await startPortProxy({
      bindings: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: tcpPort, protocol: 'tcp' }],
      targetIp: '127.0.0.1',
      signal: abort.signal,
    });
    const port = proxy.bound[0]?.hostPort ?? 0;
    expect(await tcpRoundTrip(port, 'x')).toBe('x');
    abort.abort();
    await new Promise((r) => setTimeout(r, 50));
    await expect(tcpRoundTrip(port, 'x')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
