/** Small helpers for servers on unix sockets (the daemon's, the ssh agent forwarder's). */
import type { Server as HttpServer } from 'node:http';
import type { Server } from 'node:net';

/** `server.listen(path)` as a promise that rejects on the listen error (EADDRINUSE, EACCES …). */
export function listenOn(server: Server | HttpServer, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
