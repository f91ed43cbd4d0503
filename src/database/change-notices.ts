import { Client } from 'pg';
import type { Logger } from 'pino';
import { withTimeout } from '../common/with-timeout';

/** How often the listening connection is asked a query, and how long it may take to answer. */
const HEARTBEAT_EVERY_MS = 30_000;
const HEARTBEAT_DEADLINE_MS = 10_000;

export interface ChangeNoticeHandlers {
  /** A NOTIFY on the channel, with its payload. */
  notice(payload: string): void;
  /** The connection was lost and is back: notices sent meanwhile were missed. */
  reconnected(): void;
}

/**
 * One dedicated PostgreSQL connection that LISTENs on a channel (a trigger NOTIFYs changes there),
 * reconnecting a second after it is lost. A connection can also be lost without an error (a
 * failover or a network partition that drops packets: nothing is ever read again, and the
 * operating system notices after minutes at best): it is asked `SELECT 1` every 30 s, and one that
 * does not answer in 10 s is dropped and made again, `reconnected` telling the caller that notices
 * may have been missed.
 */
export class ChangeNotices {
  private client?: Client;
  private reconnectTimer?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly channel: string,
    private readonly handlers: ChangeNoticeHandlers,
    private readonly logger: Logger,
    private readonly heartbeatMs = { every: HEARTBEAT_EVERY_MS, deadline: HEARTBEAT_DEADLINE_MS },
  ) {}

  /** Resolves once listening, or once a reconnect is scheduled (the caller reloads meanwhile). */
  async start(): Promise<void> {
    if (this.closed) return;
    const client = new Client({
      connectionString: this.databaseUrl,
      application_name: 'hookstream-listen',
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    client.on('notification', (message) => {
      if (message.channel === this.channel && message.payload) this.handlers.notice(message.payload);
    });
    client.on('error', (error) => {
      this.logger.warn({ err: error, channel: this.channel }, 'change listener lost its connection');
      this.scheduleReconnect();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
      this.client = client;
      this.beat(client);
    } catch (error) {
      this.logger.warn({ err: error, channel: this.channel }, 'cannot listen for changes; retrying');
      await client.end().catch(() => undefined);
      this.scheduleReconnect();
    }
  }

  /** Asks `client` a query every `heartbeatMs.every`; one unanswered by the deadline is dropped. */
  private beat(client: Client): void {
    clearTimeout(this.heartbeat);
    this.heartbeat = setTimeout(() => {
      if (this.client !== client) return;
      withTimeout(client.query('SELECT 1'), this.heartbeatMs.deadline, 'no answer').then(
        () => this.beat(client),
        (error: unknown) => {
          if (this.client !== client) return;
          this.logger.warn(
            { err: error, channel: this.channel },
            'change listener connection stopped answering; connecting again',
          );
          this.scheduleReconnect();
        },
      );
    }, this.heartbeatMs.every);
    this.heartbeat.unref();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const previous = this.client;
    this.client = undefined;
    void previous?.end().catch(() => undefined);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.start().then(() => {
        if (this.client) this.handlers.reconnected();
      });
    }, 1000);
  }

  async stop(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.heartbeat);
    const client = this.client;
    // Forgotten first: a heartbeat still out then fails quietly.
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
