/**
 * A FHIR server that accepts connections and never answers: a send to it stays in flight until the
 * client gives up, which is what shutdown has to deal with. `forwardTo` turns it into a plain TCP
 * relay to a real server (same address, an answering target: "the EHR is back").
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface HangingTarget {
  url: string;
  /** Requests received so far (their first lines). */
  requests: string[];
  /** From now on, new connections are relayed to this origin (`http://127.0.0.1:port`). */
  forwardTo(origin: string): void;
  close(): Promise<void>;
}

export async function startHangingTarget(): Promise<HangingTarget> {
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  let forward: URL | undefined;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (forward) {
      const upstream = connect(Number(forward.port), forward.hostname);
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      socket.pipe(upstream).pipe(socket);
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
      return;
    }
    socket.on('data', (chunk) => {
      const first = chunk.toString('latin1').split('\r\n')[0];
      if (/^[A-Z]+ \//.test(first)) requests.push(first);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/fhir`,
    requests,
    forwardTo(origin) {
      forward = new URL(origin);
    },
    async close() {
      sockets.forEach((s) => s.destroy());
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
