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
 * A status to answer with, a status to answer with after a pause (so that requests sent
 * concurrently overlap here and can be counted), or `hang` to never answer (the connection is
 * dropped at stop()).
 */
export type Answer = number | { status: number; afterMs: number } | 'hang';

/**
 * A minimal webhook receiver on 127.0.0.1: reads the body, asks `decide` what to answer (204 when it
 * returns undefined) and answers at once, or after the pause it asks for. It counts the requests
 * open per path, for the chaos runs' maxConcurrency ledger. No per-request allocation beyond the body.
 */
export class Receiver {
  private server?: Server;
  private readonly hanging = new Set<ServerResponse>();
  private readonly delayed = new Set<NodeJS.Timeout>();
  private readonly openByPath = new Map<string, number>();
  port = 0;
  requests = 0;

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
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        return;
      }
      if (typeof answer === 'object') {
        const { status, afterMs } = answer;
        const timer = setTimeout(() => {
          this.delayed.delete(timer);
          this.answer(res, status);
        }, afterMs);
        this.delayed.add(timer);
        return;
      }
      this.answer(res, answer ?? 204);
    });
  }

  private answer(res: ServerResponse, status: number): void {
    if (res.destroyed) return;
    res.statusCode = status;
    res.end(status >= 400 ? 'no' : undefined);
  }

  async stop(): Promise<void> {
    for (const timer of this.delayed) clearTimeout(timer);
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
