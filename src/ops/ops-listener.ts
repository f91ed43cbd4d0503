import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Inject, Injectable, type INestApplication } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DomainError } from '../common/domain-error';
import { pathOf, routeOf } from '../common/request-path';
import { AuthBrake, clientAddress } from '../tenants/auth/auth-brake';
import { bearerToken } from '../tenants/auth/bearer-token';
import { OperatorCredentials } from '../tenants/auth/operator-credentials';

/** Served on both listeners: orchestrators probe the public port, and they reveal no address. */
const PROBES = new Set(['/healthz', '/readyz']);

/** The operator surface: metrics, dashboard, API docs and the /v1/ops API (issue 19). */
export function isOpsPath(path: string): boolean {
  return (
    PROBES.has(path) ||
    ['/metrics', '/dashboard', '/docs', '/docs-json', '/v1/ops'].some(
      (prefix) => path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}-`),
    )
  );
}

/**
 * Which listener serves what. With OPS_PORT the ops surface is served there only (the public port
 * answers 404 for it, as if absent) and the ops listener serves nothing else. Without it,
 * HOOKSTREAM_OPS_AUTH=admin puts the ops surface behind the admin or the ops token on the public
 * port, except the probes and the dashboard's page (a browser cannot send a bearer token when
 * opening a page; the page holds no data, and every call it makes is a /v1/ops route). /v1/ops
 * keeps AdminGuard behind this, which refuses the ops token on the routes that act or reveal
 * secrets. A wrong token here counts against HOOKSTREAM_AUTH_FAILURE_LIMIT like one sent to an
 * admin route.
 */
@Injectable()
export class OpsSurface {
  private readonly opsSockets = new WeakSet<Socket>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly brake: AuthBrake,
    private readonly credentials: OperatorCredentials,
  ) {}

  /** Fastify `onRequest` hook: answers 404, 401 or 429 (and ends the request) or lets it go on. */
  readonly hook = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const path = routeOf(request);
    const ops = isOpsPath(path);
    if (this.config.ops.port !== null) {
      const onOpsListener = this.opsSockets.has(request.raw.socket);
      if (PROBES.has(path) || ops === onOpsListener) return;
      const message = `Cannot ${request.method} ${pathOf(request.url)}`;
      await reply.status(404).send({ error: 'not_found', message });
      return;
    }
    if (!ops || this.config.ops.auth === 'none' || PROBES.has(path) || path.startsWith('/dashboard')) {
      return;
    }
    const address = clientAddress(request);
    try {
      this.brake.begin([address]);
    } catch (error) {
      // A hook runs before Nest's routing, so its exception filter does not see this: answer as it would.
      if (!(error instanceof DomainError) || error.retryAfterSeconds === undefined) throw error;
      await reply
        .status(429)
        .header('Retry-After', String(error.retryAfterSeconds))
        .send({ error: error.code, message: error.message });
      return;
    }
    if (this.credentials.identify(bearerToken(request)) !== null) {
      this.brake.succeeded([address]);
      return;
    }
    this.brake.failed('admin');
    await reply
      .status(401)
      .send({ error: 'unauthorized', message: 'the ops routes need the ops or the admin bearer token' });
  };

  /** Starts the ops listener when OPS_PORT is set; resolves to its port, or null. */
  async listen(app: INestApplication): Promise<number | null> {
    const { port, host } = this.config.ops;
    if (port === null) return null;
    // The same Fastify instance answers both: a request on this listener is handed to the public
    // server's request handler, and the hook above tells them apart by socket.
    const publicServer = (app.getHttpAdapter().getInstance() as FastifyInstance).server;
    const server: Server = createServer((request, response) =>
      publicServer.emit('request', request, response),
    );
    server.on('connection', (socket: Socket) => this.opsSockets.add(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
    // Closed with the public listener, so app.close() leaves nothing listening.
    (app.getHttpServer() as Server).once('close', () => {
      server.close();
      server.closeAllConnections();
    });
    return (server.address() as AddressInfo).port;
  }
}
