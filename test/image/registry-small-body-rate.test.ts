/**
 * A registry that trickles a manifest or a token response (a byte now and then, never idle for the
 * idle timeout) must fail in bounded time, as a blob does: the minimum rate over a window applies to
 * every body the client reads whole. Before, only blobs were held to it, and a manifest of up to
 * 4 MiB sent a byte every few seconds kept a pull waiting for days.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReference } from '../../oci/index.js';
import { RegistryClient, RegistryError } from '../../image/registry/index.js';

let server: Server;
let port = 0;
const timers = new Set<NodeJS.Timeout>();

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/v2/app/manifests/v1') {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    } else if (req.url === '/v2/auth/manifests/v1') {
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="test"`,
      });
      res.end();
      return;
    } else if (req.url?.startsWith('/token') === true) {
      res.writeHead(200, { 'content-type': 'application/json' });
    } else {
      res.writeHead(404).end();
      return;
    }
    // A byte every 100 ms: never idle, far below the minimum rate.
    const timer = setInterval(() => res.write(' '), 100);
    timers.add(timer);
    res.on('close', () => {
      clearInterval(timer);
      timers.delete(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const timer of timers) clearInterval(timer);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const limits = { timeoutMs: 2000, minBytesPerSecond: 1024, rateWindowMs: 500, maxTries: 1 };

async function failsFast(call: () => Promise<unknown>): Promise<RegistryError> {
  const started = Date.now();
  const err = await call().then(
    () => new Error('it was read'),
    (e: unknown) => e as Error,
  );
  expect(err).toBeInstanceOf(RegistryError);
  expect((err as RegistryError).code).toBe('UNAVAILABLE');
  expect(err.message).toMatch(/below the minimum of 1024 bytes\/s/);
  expect(Date.now() - started).toBeLessThan(5000);
  return err as RegistryError;
}

describe('a trickled small body', () => {
  it('a manifest fails at the minimum rate', async () => {
    const client = new RegistryClient(limits);
    try {
      await failsFast(() => client.manifest(parseReference(`127.0.0.1:${port}/app:v1`), 'v1'));
    } finally {
      client.close();
    }
  }, 20_000);

  it('a token response fails at the minimum rate', async () => {
    const client = new RegistryClient(limits);
    try {
      await failsFast(() => client.manifest(parseReference(`127.0.0.1:${port}/auth:v1`), 'v1'));
    } finally {
      client.close();
    }
  }, 20_000);
});
