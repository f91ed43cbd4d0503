import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** The body's bytes as they arrived (`body` is their UTF-8 decoding, with U+FFFD for bad bytes). */
  rawBody: Buffer;
  /** The status this receiver answers it with (after any delay); null when it hangs. */
  status: number | null;
  receivedAtMs: number;
}

/** What a path answers: a status (and headers, a body), or `hang` to never answer. */
export type Behaviour =
  { status: number; headers?: Record<string, string>; delayMs?: number; body?: string } | { hang: true };

/**
 * A real HTTP receiver on 127.0.0.1 that records every request and answers per path. Behaviours
 * can change while the test runs (`respond`), e.g. failing first and recovering later.
 */
export class TestReceiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly behaviours = new Map<string, (request: ReceivedRequest, index: number) => Behaviour>();
  private readonly hanging = new Set<ServerResponse>();
  /** Requests being answered now, and the most there ever were at once, per path. */
  private readonly active = new Map<string, number>();
  private readonly mostAtOnce = new Map<string, number>();
  /** firstAnswered's index, rebuilt when requests have arrived since. */
  private answered?: {
    seen: number;
    byPath: Map<string, Map<string, { request: ReceivedRequest; index: number }>>;
  };
  private server?: Server;
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.onRequest(req, res));
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Sets how `path` answers; `decide` gets the request and its index among that path's requests. */
  respond(path: string, decide: Behaviour | ((request: ReceivedRequest, index: number) => Behaviour)): void {
    this.behaviours.set(path, typeof decide === 'function' ? decide : () => decide);
  }

  on(path: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** The most requests to `path` that were open at once (arrived and not yet answered). */
  maxConcurrent(path: string): number {
    return this.mostAtOnce.get(path) ?? 0;
  }

  /**
   * Per webhook-id, the first request to `path` this receiver answered with a 2xx, and its place
   * among all requests (arrival order across paths).
   */
  firstAnswered(path: string): Map<string, { request: ReceivedRequest; index: number }> {
    if (this.answered?.seen !== this.requests.length) {
      const byPath = new Map<string, Map<string, { request: ReceivedRequest; index: number }>>();
      this.requests.forEach((request, index) => {
        if (request.status === null || request.status >= 300) return;
        const found =
          byPath.get(request.path) ?? new Map<string, { request: ReceivedRequest; index: number }>();
        byPath.set(request.path, found);
        const id = request.headers['webhook-id'];
        if (!found.has(id)) found.set(id, { request, index });
      });
      this.answered = { seen: this.requests.length, byPath };
    }
    return this.answered.byPath.get(path) ?? new Map();
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    const open = (this.active.get(path) ?? 0) + 1;
    this.active.set(path, open);
    this.mostAtOnce.set(path, Math.max(open, this.mostAtOnce.get(path) ?? 0));
    res.on('close', () => this.active.set(path, (this.active.get(path) ?? 1) - 1));
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const rawBody = Buffer.concat(chunks);
    const request: ReceivedRequest = {
      path: req.url ?? '/',
      headers,
      body: rawBody.toString(),
      rawBody,
      status: null,
      receivedAtMs: Date.now(),
    };
    const index = this.on(request.path).length;
    const decide = this.behaviours.get(request.path);
    const behaviour = decide ? decide(request, index) : { status: 204 };
    if (!('hang' in behaviour)) request.status = behaviour.status;
    this.requests.push(request);
    if ('hang' in behaviour) {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    if (behaviour.delayMs) await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
    res.writeHead(behaviour.status, behaviour.headers);
    res.end(behaviour.body ?? (behaviour.status >= 400 ? 'receiver says no' : ''));
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
