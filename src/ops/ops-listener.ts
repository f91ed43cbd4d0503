import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DomainError } from '../common/domain-error';
import { AuthBrake, clientAddress } from '../tenants/auth/auth-brake';
import { bearerToken } from '../tenants/auth/bearer-token';

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
 * HOOKSTREAM_OPS_AUTH=admin puts the ops surface behind the admin token on the public port, except
 * the probes and the dashboard's page (a browser cannot send a bearer token when opening a page;
 * the page holds no data, and every call it makes is an admin route). A wrong token there counts
 * against HOOKSTREAM_AUTH_FAILURE_LIMIT like one sent to an admin route.
 */
@Injectable()
export class OpsSurface {
  private readonly opsSockets = new WeakSet<Socket>();
  private readonly adminDigest: Buffer;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly brake: AuthBrake,
  ) {
    this.adminDigest = sha256(config.adminToken);
  }

  readonly middleware = (request: Request, response: Response, next: NextFunction): void => {
    const path = request.path;
    const ops = isOpsPath(path);
    if (this.config.ops.port !== null) {
      const onOpsListener = this.opsSockets.has(request.socket);
      if (PROBES.has(path) || ops === onOpsListener) return next();
      response.status(404).json({ error: 'not_found', message: `Cannot ${request.method} ${path}` });
      return;
    }
    if (!ops || this.config.ops.auth === 'none' || PROBES.has(path) || path.startsWith('/dashboard')) {
      return next();
    }
    const address = clientAddress(request);
    try {
      this.brake.begin([address]);
    } catch (error) {
      // Express middleware: Nest's exception filter does not see this, so answer as it would.
      if (!(error instanceof DomainError) || error.retryAfterSeconds === undefined) throw error;
      response.setHeader('Retry-After', String(error.retryAfterSeconds));
      response.status(429).json({ error: error.code, message: error.message });
      return;
    }
    const token = bearerToken(request);
    if (token !== null && timingSafeEqual(sha256(token), this.adminDigest)) {
      this.brake.succeeded([address]);
      return next();
    }
    this.brake.failed('admin');
    response
      .status(401)
      .json({ error: 'unauthorized', message: 'the ops routes need the admin bearer token' });
  };

  /** Starts the ops listener when OPS_PORT is set; resolves to its port, or null. */
  async listen(app: INestApplication): Promise<number | null> {
    const { port, host } = this.config.ops;
    if (port === null) return null;
    const server: Server = createServer(
      app.getHttpAdapter().getInstance() as Parameters<typeof createServer>[1],
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

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
