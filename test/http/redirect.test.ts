/**
 * The redirect rules (http/redirect.ts) and the client that follows them (http/client.ts): a bounded
 * number of hops, http and https only, and credentials (an Authorization header, or user info turned
 * into one) sent to the first request's origin only, never to another host, port or scheme.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, discard, firstHop, nextHop } from '../../http/index.js';

const basic = (user: string): string => `Basic ${Buffer.from(user).toString('base64')}`;

describe('nextHop', () => {
  const from = new URL('https://a.example/x');
  const hop = (status: number, location: string | undefined, hops = 0) => ({
    status,
    location,
    url: from,
    hops,
    max: 10,
  });
  const auth = { authorization: 'Bearer t', accept: '*/*' };

  it('is undefined for a response that is not a redirect', () => {
    for (const status of [200, 304, 404, 300]) expect(nextHop(hop(status, '/y'), auth)).toBeUndefined();
  });

  it('keeps every header on the same origin, relative or absolute', () => {
    for (const status of [301, 302, 303, 307, 308]) {
      expect(nextHop(hop(status, '/y?z=1'), auth)).toEqual({
        url: new URL('https://a.example/y?z=1'),
        headers: auth,
      });
    }
    expect(nextHop(hop(302, 'https://a.example:443/y'), auth)?.headers).toEqual(auth);
  });

  it('drops Authorization for another host, port or scheme, and keeps the rest', () => {
    for (const location of ['https://b.example/y', 'https://a.example:8443/y', 'http://a.example/y']) {
      expect(nextHop(hop(307, location), auth)?.headers, location).toEqual({ accept: '*/*' });
    }
    expect(nextHop(hop(307, 'https://b.example/y'), { Authorization: 'x' })?.headers).toEqual({});
  });

  it('never uses user info from a Location', () => {
    const next = nextHop(hop(302, 'https://eve:pw@b.example/y'), {});
    expect(next?.url.toString()).toBe('https://b.example/y');
    expect(next?.headers).toEqual({});
  });

  it('refuses a redirect past the limit, to another scheme, or without a Location', () => {
    expect(() => nextHop(hop(302, '/y', 10), auth)).toThrow(
      expect.objectContaining({
        code: 'FAILED_PRECONDITION',
        message: expect.stringMatching(/more than 10 redirects/),
      }),
    );
    expect(nextHop(hop(302, '/y', 9), auth)).toBeDefined();
    for (const location of ['file:///etc/passwd', 'ftp://a.example/x', 'javascript:alert(1)']) {
      expect(() => nextHop(hop(302, location), auth), location).toThrow(
        expect.objectContaining({
          code: 'FAILED_PRECONDITION',
          message: expect.stringMatching(/redirect to unsupported URL scheme/),
        }),
      );
    }
    expect(() => nextHop(hop(301, undefined), auth)).toThrow(/HTTP 301 without a Location/);
  });
});

describe('firstHop', () => {
  it('turns user info into a Basic Authorization header and takes it out of the URL', () => {
    const first = firstHop(new URL('https://al%20ice:p%40ss@a.example/x'), { accept: '*/*' });
    expect(first.url.toString()).toBe('https://a.example/x');
    expect(first.headers).toEqual({ accept: '*/*', authorization: basic('al ice:p@ss') });
  });

  it("leaves the caller's Authorization alone, and refuses a scheme that is not http(s)", () => {
    const first = firstHop(new URL('https://u:p@a.example/x'), { Authorization: 'Bearer t' });
    expect(first).toEqual({ url: new URL('https://a.example/x'), headers: { Authorization: 'Bearer t' } });
    expect(() => firstHop(new URL('ftp://a.example/x'), {})).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/unsupported URL scheme ftp:/),
      }),
    );
  });
});

describe('HttpClient following redirects', () => {
  interface Seen {
    readonly path: string;
    readonly authorization: string | undefined;
  }
  const seen: Record<'a' | 'b', Seen[]> = { a: [], b: [] };
  let a: Server;
  let b: Server;
  let aBase = '';
  let bBase = '';
  const client = new HttpClient({ maxRedirects: 3 });

  function server(name: 'a' | 'b', route: (path: string, res: ServerResponse) => void): Server {
    return createServer((req: IncomingMessage, res) => {
      const path = req.url ?? '/';
      seen[name].push({ path, authorization: req.headers.authorization });
      route(path, res);
    });
  }

  beforeAll(async () => {
    a = server('a', (path, res) => {
      if (path === '/same') res.writeHead(302, { location: '/final' }).end();
      else if (path === '/away') res.writeHead(307, { location: `${bBase}/there` }).end();
      else if (path === '/back') res.writeHead(302, { location: `${bBase}/bounce` }).end();
      else if (path === '/loop') res.writeHead(302, { location: '/loop' }).end();
      else res.end(`a${path}`);
    });
    b = server('b', (path, res) => {
      if (path === '/bounce') res.writeHead(302, { location: `${aBase}/final` }).end();
      else res.end(`b${path}`);
    });
    for (const s of [a, b]) await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    aBase = `http://127.0.0.1:${(a.address() as AddressInfo).port}`;
    bBase = `http://127.0.0.1:${(b.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    client.close();
    for (const s of [a, b]) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  async function text(url: string, headers: Record<string, string> = {}): Promise<string> {
    const res = await client.send(new URL(url), { method: 'GET', headers });
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString();
  }

  it('sends user info as Basic auth along a redirect on the same origin', async () => {
    seen.a = [];
    const url = `${aBase.replace('http://', 'http://me:pw@')}/same`;
    expect(await text(url)).toBe('a/final');
    expect(seen.a).toEqual([
      { path: '/same', authorization: basic('me:pw') },
      { path: '/final', authorization: basic('me:pw') },
    ]);
  });

  it('never forwards credentials to another port, even when a later hop comes back', async () => {
    seen.a = [];
    seen.b = [];
    expect(await text(`${aBase}/away`, { authorization: 'Bearer secret' })).toBe('b/there');
    expect(seen.b).toEqual([{ path: '/there', authorization: undefined }]);
    const url = `${aBase.replace('http://', 'http://me:pw@')}/back`;
    expect(await text(url)).toBe('a/final');
    expect(seen.b.at(-1)).toEqual({ path: '/bounce', authorization: undefined });
    expect(seen.a.at(-1)).toEqual({ path: '/final', authorization: undefined });
  });

  it('stops after maxRedirects hops', async () => {
    seen.a = [];
    const err = await client.send(new URL(`${aBase}/loop`), { method: 'GET' }).then(
      (res) => {
        discard(res);
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringMatching(/more than 3 redirects/),
    });
    expect(seen.a).toHaveLength(4);
  });
});
