import { Client } from 'pg';
import { silentLogger } from '../../src/testing/fakes';
import { ChangeNotices } from '../../src/database/change-notices';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { FreezableRelay } from '../support/freezable-relay';
import { waitFor } from '../support/wait';

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
