import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Delivery {
  path: string;
  /** The `webhook-id` header: the event id, the same on every attempt. */
  webhookId: string;
  body: string;
  receivedAtMs: number;
  /**
   * Requests open on this path when this one's body was read, itself included: from the arrival of
   * each one's headers to its answer or its connection closing.
   */
  concurrent: number;
}

/**
 * A status to answer with; `hang` to never answer (the connection is dropped at stop()); or a status
 * with a body to send and a delay before answering (a slow endpoint, or one answering with a large body).
 */
export type Answer = number | 'hang' | { status: number; body?: string | Buffer; delayMs?: number };

/**
 * A minimal webhook receiver on 127.0.0.1: reads the body, asks `decide` what to answer (204 when it
 * returns undefined) and answers at once, or after the pause it asks for. It counts the requests
 * open per path, for the chaos runs' maxConcurrency ledger. No per-request allocation beyond the body.
 */
export class Receiver {
  private server?: Server;
  private readonly hanging = new Set<ServerResponse>();
  private readonly openByPath = new Map<string, number>();
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
    const path = req.url ?? '/';
    this.openByPath.set(path, (this.openByPath.get(path) ?? 0) + 1);
    // Closed once answered (finish: handed to the socket, before the sender can read it) or dropped.
    let open = true;
    const closed = (): void => {
      if (!open) return;
      open = false;
      this.openByPath.set(path, this.openByPath.get(path)! - 1);
    };
    res.once('finish', closed);
    res.once('close', closed);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.requests++;
      const delivery: Delivery = {
        path,
        webhookId: String(req.headers['webhook-id'] ?? ''),
        body: chunks.length === 1 ? chunks[0].toString() : Buffer.concat(chunks).toString(),
        receivedAtMs: Date.now(),
        concurrent: this.openByPath.get(path)!,
      };
      let answer: Answer | undefined;
      try {
        answer = this.decide(delivery);
      } catch {
        answer = 500;
      }
      if (answer === 'hang') {
        this.holdOpen(res);
        return;
      }
      if (typeof answer === 'object') {
        this.answerLater(res, answer);
        return;
      }
      res.statusCode = answer ?? 204;
      res.end(res.statusCode >= 400 ? 'no' : undefined);
    });
  }

  /** An answer not sent yet: counted in `pending`, and dropped at stop() rather than waited for. */
  private holdOpen(res: ServerResponse): void {
    this.pending++;
    this.hanging.add(res);
    res.on('close', () => {
      this.pending--;
      this.hanging.delete(res);
    });
  }

  private answerLater(
    res: ServerResponse,
    { status, body, delayMs = 0 }: Exclude<Answer, number | 'hang'>,
  ): void {
    const send = (): void => {
      if (res.destroyed || res.writableEnded) return;
      res.statusCode = status;
      res.end(body ?? (status >= 400 ? 'no' : undefined));
    };
    if (delayMs <= 0) return send();
    this.holdOpen(res);
    const timer = setTimeout(send, delayMs);
    res.on('close', () => clearTimeout(timer));
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
