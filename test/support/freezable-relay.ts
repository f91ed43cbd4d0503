import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay to PostgreSQL whose open connections can be frozen: nothing more passes either way
 * and nothing errors, as after a failover or a partition that drops packets. What the client sends
 * a frozen connection is read and dropped, so the relay sees the client close it (and closes the
 * server's side then, as the server would see it once the network healed).
 */
export class FreezableRelay {
  private readonly server: Server;
  private readonly open: Array<[Socket, Socket]> = [];
  private readonly frozen: Array<[Socket, Socket]> = [];
  /** Connections made from now on are frozen from the start (see {@link freezeAll}). */
  private freezingNew = false;
  private closedByClient = 0;

  constructor(target: { host: string; port: number }) {
    this.server = createServer((inbound) => {
      const outbound = connect(target.port, target.host);
      const drop = () => {
        inbound.destroy();
        outbound.destroy();
      };
      inbound.on('error', drop);
      outbound.on('error', drop);
      if (this.freezingNew) {
        this.hold(inbound, outbound);
        return;
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
      this.open.push([inbound, outbound]);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  /** Every connection open now stops passing bytes; later ones pass as usual. */
  freeze(): void {
    for (const [inbound, outbound] of this.open.splice(0)) {
      inbound.unpipe(outbound);
      outbound.unpipe(inbound);
      this.hold(inbound, outbound);
    }
  }

  /** Every connection, open now or made later, passes nothing: the database hangs, refusing nothing. */
  freezeAll(): void {
    this.freezingNew = true;
    this.freeze();
  }

  /** Connections made from now on pass again (after {@link freezeAll}); those frozen stay frozen. */
  passNew(): void {
    this.freezingNew = false;
  }

  /** Frozen connections the client has closed (ended or reset). */
  frozenClosedByClient(): number {
    return this.closedByClient;
  }

  private hold(inbound: Socket, outbound: Socket): void {
    outbound.pause();
    const closedByClient = () => {
      this.closedByClient += 1;
      inbound.destroy();
      outbound.destroy();
    };
    inbound.once('end', closedByClient);
    inbound.once('error', closedByClient);
    inbound.on('data', () => undefined);
    inbound.resume();
    this.frozen.push([inbound, outbound]);
  }

  async close(): Promise<void> {
    for (const [inbound, outbound] of [...this.open, ...this.frozen]) {
      inbound.destroy();
      outbound.destroy();
    }
    await new Promise((resolve) => this.server.close(resolve));
  }
}
