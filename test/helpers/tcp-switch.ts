/**
 * A loopback TCP relay in front of a real service that can be switched off and on: while off it cuts every open
 * connection and resets new ones, so a client sees the service go down and come back without the service (shared
 * with other tests) being stopped.
 *
 * It can also freeze, as a service does when its process is stopped (SIGSTOP) or its disk hangs: connections are
 * accepted, what clients send is kept, nothing comes back. Switched on again, everything kept is handed to the
 * service, requests of clients that gave up meanwhile too (a frozen node that resumes does the work it had been
 * sent, and its answer goes nowhere).
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export type SwitchState = 'up' | 'down' | 'frozen';

export interface TcpSwitch {
  url: string;
  /** True while the service is reachable through the relay. */
  readonly up: boolean;
  readonly state: SwitchState;
  setUp(up: boolean): void;
  /** Accept and hold: nothing reaches the service or comes back until setUp(true). */
  freeze(): void;
  close(): Promise<void>;
}

/** How long a connection whose client left is kept open for the service's answer after a thaw. */
const ORPHAN_LINGER_MS = 30_000;

/** One client connection and its way to the service. */
interface Link {
  client: net.Socket;
  upstream: net.Socket | undefined;
  /** Client bytes not yet handed to the service (frozen, or before the service connection opened). */
  toService: Buffer[];
  /** Service bytes held while frozen. */
  toClient: Buffer[];
  clientGone: boolean;
}

export async function startTcpSwitch(targetUrl: string, initiallyUp = true): Promise<TcpSwitch> {
  const target = new URL(targetUrl);
  const links = new Set<Link>();
  let state: SwitchState = initiallyUp ? 'up' : 'down';

  const destroy = (link: Link): void => {
    link.client.destroy();
    link.upstream?.destroy();
    links.delete(link);
  };

  /** Hands over what was held (both ways) once the switch is up. */
  const flush = (link: Link): void => {
    if (link.clientGone && link.toService.length === 0 && link.upstream === undefined) {
      destroy(link);
      return;
    }
    if (link.upstream === undefined) {
      connect(link);
      return;
    }
    for (const chunk of link.toService.splice(0)) link.upstream.write(chunk);
    for (const chunk of link.toClient.splice(0)) if (!link.clientGone) link.client.write(chunk);
    if (link.clientGone) setTimeout(() => destroy(link), ORPHAN_LINGER_MS).unref();
  };

  const connect = (link: Link): void => {
    const upstream = net.connect(Number(target.port), target.hostname);
    link.upstream = upstream;
    upstream.on('data', (chunk: Buffer) => {
      if (state === 'frozen') link.toClient.push(chunk);
      else if (link.clientGone) destroy(link); // the answer to a client that left: the work is done
      else link.client.write(chunk);
    });
    upstream.on('error', () => destroy(link)).on('close', () => destroy(link));
    flush(link);
  };

  const server = net.createServer((client) => {
    if (state === 'down') {
      client.resetAndDestroy();
      return;
    }
    const link: Link = { client, upstream: undefined, toService: [], toClient: [], clientGone: false };
    links.add(link);
    client.on('data', (chunk: Buffer) => {
      if (state === 'frozen' || link.upstream === undefined) link.toService.push(chunk);
      else link.upstream.write(chunk);
    });
    const gone = (): void => {
      link.clientGone = true;
      // Frozen, what it sent is still to be handed over; otherwise its service connection has no more use.
      if (state !== 'frozen' && link.toService.length === 0) destroy(link);
    };
    client.on('error', gone).on('close', gone);
    if (state === 'up') connect(link);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get up() {
      return state === 'up';
    },
    get state() {
      return state;
    },
    setUp(up: boolean) {
      const was = state;
      state = up ? 'up' : 'down';
      if (!up) for (const link of [...links]) destroy(link);
      else if (was === 'frozen') for (const link of [...links]) flush(link);
    },
    freeze() {
      state = 'frozen';
    },
    close: () => new Promise((r) => {
      for (const link of [...links]) destroy(link);
      server.close(() => r());
    }),
  };
}
