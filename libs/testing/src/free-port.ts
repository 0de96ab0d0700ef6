import { createServer } from 'node:net';

/**
 * Asks the kernel for a free TCP port on the loopback interface. The port is released before it is
 * returned, so another process could take it in between; callers that spawn a server on it should
 * retry with a fresh port when the bind fails (see `startNatsServer`).
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the port of a listening socket'));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
