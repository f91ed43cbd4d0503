import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Delivery {
  path: string;
  /** The `webhook-id` header: the event id, the same on every attempt. */
  webhookId: string;
  body: string;
  receivedAtMs: number;
}

/**
 * A status to answer with, `hang` to never answer (the connection is dropped at stop()), or a
 * status to answer with only after `afterMs` (a slow endpoint).
 */
export type Answer = number | 'hang' | { status: number; afterMs: number };

/**
 * A minimal webhook receiver on 127.0.0.1: reads the body, asks `decide` what to answer (204 when it
 * returns undefined) and answers at once. No per-request allocation beyond the body.
 */
export class Receiver {
  private server?: Server;
  private readonly hanging = new Set<ServerResponse>();
  port = 0;
  requests = 0;
  /** Requests read and not answered yet (hanging or slow), until answered or dropped by the client. */
  pending = 0;

  constructor(private decide: (delivery: Delivery) => Answer | undefined = () => undefined) {}

  setHandler(decide: (delivery: Delivery) => Answer | undefined): void {
    this.decide = decide;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.server.headersTimeout = 65_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.requests++;
      const delivery: Delivery = {
        path: req.url ?? '/',
        webhookId: String(req.headers['webhook-id'] ?? ''),
        body: chunks.length === 1 ? chunks[0].toString() : Buffer.concat(chunks).toString(),
        receivedAtMs: Date.now(),
      };
      let answer: Answer | undefined;
      try {
        answer = this.decide(delivery);
      } catch {
        answer = 500;
      }
      if (answer === 'hang' || typeof answer === 'object') {
        this.pending++;
        this.hanging.add(res);
        res.on('close', () => {
          this.pending--;
          this.hanging.delete(res);
        });
        if (typeof answer === 'object') {
          const { status, afterMs } = answer;
          setTimeout(() => this.answer(res, status), afterMs);
        }
        return;
      }
      this.answer(res, answer ?? 204);
    });
  }

  private answer(res: ServerResponse, status: number): void {
    if (res.destroyed || res.writableEnded) return;
    res.statusCode = status;
    res.end(status >= 400 ? 'no' : undefined);
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
