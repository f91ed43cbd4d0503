import { connect, createServer, type Server, type Socket } from 'node:net';
import { Client } from 'pg';
import { silentLogger } from '../../src/testing/fakes';
import { ChangeNotices } from '../../src/database/change-notices';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { waitFor } from '../support/wait';

/**
 * A TCP relay to PostgreSQL whose open connections can be frozen: nothing more passes either way
 * and nothing errors, as after a failover or a partition that drops packets.
 */
class FreezableRelay {
  private readonly server: Server;
  private readonly open: Array<[Socket, Socket]> = [];
  private readonly frozen: Array<[Socket, Socket]> = [];

  constructor(target: { host: string; port: number }) {
    this.server = createServer((inbound) => {
      const outbound = connect(target.port, target.host);
      inbound.pipe(outbound);
      outbound.pipe(inbound);
      const drop = () => {
        inbound.destroy();
        outbound.destroy();
      };
      inbound.on('error', drop);
      outbound.on('error', drop);
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
      this.frozen.push([inbound, outbound]);
      inbound.unpipe(outbound);
      outbound.unpipe(inbound);
      inbound.pause();
      outbound.pause();
    }
  }

  async close(): Promise<void> {
    for (const [inbound, outbound] of [...this.open, ...this.frozen]) {
      inbound.destroy();
      outbound.destroy();
    }
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('ChangeNotices', () => {
  let database: TestDatabase;
  let relay: FreezableRelay;
  let notices: ChangeNotices | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    // The relay first: a frozen connection's end would wait for an answer that never comes.
    await relay?.close();
    await notices?.stop();
    await database?.drop();
  });

  it('drops a listening connection that stopped answering, listens again and says notices were missed', async () => {
    const url = new URL(database.url);
    relay = new FreezableRelay({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(await relay.listen());
    const received: string[] = [];
    let reconnected = 0;
    notices = new ChangeNotices(
      url.toString(),
      'hookstream_test_channel',
      { notice: (payload) => void received.push(payload), reconnected: () => void (reconnected += 1) },
      silentLogger,
      { every: 200, deadline: 500 },
    );
    await notices.start();
    const notify = async (payload: string) => {
      const client = new Client({ connectionString: database.url });
      await client.connect();
      await client.query(`SELECT pg_notify('hookstream_test_channel', $1)`, [payload]);
      await client.end();
    };
    await notify('before');
    await waitFor(() => received.includes('before'), { what: 'the first notice' });

    relay.freeze();
    await waitFor(() => reconnected === 1, {
      what: 'a reconnect after the connection froze',
      timeoutMs: 10_000,
    });
    await notify('after');
    await waitFor(() => received.includes('after'), { what: 'a notice on the new connection' });
  });
});
