import { createServer } from 'node:net';

/**
 * A loopback port free right now. Servers under test get explicit ports (not 0) because cluster
 * workers and the bench must agree on one before the server prints anything.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
