/**
 * Request bodies in http/'s client: bytes sent as they are, a stream opened by its function for each
 * request sent (a redirect sends it again), and a stream closed when its request fails.
 */
import { Readable } from 'node:stream';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../http/index.js';

let server: Server;
let base = '';
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`);
      if (req.url === '/moved') res.writeHead(307, { location: '/here' }).end();
      else if (req.url === '/reset') res.destroy();
      else res.writeHead(201).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('HttpClient request bodies', () => {
  it('sends bytes, and a stream opened again for a redirect', async () => {
    const client = new HttpClient();
    seen.length = 0;
    const a = await client.send(new URL(`${base}/bytes`), {
      method: 'POST',
      headers: { 'content-length': '5' },
      body: Buffer.from('hello'),
    });
    a.body.resume();
    let opened = 0;
    const b = await client.send(new URL(`${base}/moved`), {
      method: 'PUT',
      headers: { 'content-length': '6' },
      body: () => {
        opened++;
        return Readable.from([Buffer.from('str'), Buffer.from('eam')]);
      },
    });
    b.body.resume();
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(opened).toBe(2);
    expect(seen).toEqual(['POST /bytes hello', 'PUT /moved stream', 'PUT /here stream']);
    client.close();
  });

  it('a failed request closes its stream', async () => {
    const client = new HttpClient();
    const stream = Readable.from([Buffer.from('abc')]);
    await expect(
      client.send(new URL(`${base}/reset`), {
        method: 'PATCH',
        headers: { 'content-length': '3' },
        body: () => stream,
      }),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await new Promise((r) => setImmediate(r));
    expect(stream.destroyed).toBe(true);
    client.close();
  });
});
