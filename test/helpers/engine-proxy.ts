/**
 * A unix-socket relay in front of the real engine, so a test can take the engine away from a program (and give it
 * back) without stopping the engine other tests use. Every byte goes to and from the real engine unchanged.
 */
import { rmSync } from 'node:fs';
import net from 'node:net';

export class EngineProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

  constructor(readonly socketPath: string, private readonly enginePath = '/var/run/docker.sock') {}

  /** `DOCKER_HOST` value pointing at the relay. */
  get dockerHost(): string {
    return `unix://${this.socketPath}`;
  }

  async open(): Promise<void> {
    if (this.server) return;
    rmSync(this.socketPath, { force: true });
    const server = net.createServer((client) => {
      const engine = net.connect(this.enginePath);
      this.sockets.add(client).add(engine);
      const drop = (): void => {
        client.destroy();
        engine.destroy();
        this.sockets.delete(client);
        this.sockets.delete(engine);
      };
      client.on('error', drop).on('close', drop);
      engine.on('error', drop).on('close', drop);
      client.pipe(engine);
      engine.pipe(client);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.socketPath, resolve));
    this.server = server;
  }

  /** Closes the listening socket and every open connection: the program sees the engine vanish. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.socketPath, { force: true });
  }
}
