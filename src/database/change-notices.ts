import { Client } from 'pg';
import type { Logger } from 'pino';

export interface ChangeNoticeHandlers {
  /** A NOTIFY on the channel, with its payload. */
  notice(payload: string): void;
  /** The connection was lost and is back: notices sent meanwhile were missed. */
  reconnected(): void;
}

/**
 * One dedicated PostgreSQL connection that LISTENs on a channel (a trigger NOTIFYs changes there),
 * reconnecting a second after it is lost.
 */
export class ChangeNotices {
  private client?: Client;
  private reconnectTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly channel: string,
    private readonly handlers: ChangeNoticeHandlers,
    private readonly logger: Logger,
  ) {}

  /** Resolves once listening, or once a reconnect is scheduled (the caller reloads meanwhile). */
  async start(): Promise<void> {
    if (this.closed) return;
    const client = new Client({ connectionString: this.databaseUrl, application_name: 'hookstream-listen' });
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
    } catch (error) {
      this.logger.warn({ err: error, channel: this.channel }, 'cannot listen for changes; retrying');
      await client.end().catch(() => undefined);
      this.scheduleReconnect();
    }
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
    await this.client?.end().catch(() => undefined);
  }
}
