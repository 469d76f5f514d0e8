/**
 * A loopback TCP relay in front of a real service that can be switched off and on: while off it cuts every open
 * connection and resets new ones, so a client sees the service go down and come back without the service (shared
 * with other tests) being stopped.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpSwitch {
  url: string;
  up: boolean;
  setUp(up: boolean): void;
  close(): Promise<void>;
}

export async function startTcpSwitch(targetUrl: string, initiallyUp = true): Promise<TcpSwitch> {
  const target = new URL(targetUrl);
  const sockets = new Set<net.Socket>();
  const state = { up: initiallyUp };
  const server = net.createServer((client) => {
    if (!state.up) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get up() {
      return state.up;
    },
    setUp(up: boolean) {
      state.up = up;
      if (!up) for (const s of sockets) s.destroy();
    },
    close: () => new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}
