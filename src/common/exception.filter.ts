import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Inject } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { isTransientError } from '../domain/transient';
import { DomainError, type DomainErrorCode } from './domain-error';
import { LOGGER } from './logger.module';
import { BodyParseError } from './json-body';

const STATUS_BY_CODE: Record<DomainErrorCode, number> = {
  not_found: HttpStatus.NOT_FOUND,
  unauthorized: HttpStatus.UNAUTHORIZED,
  forbidden: HttpStatus.FORBIDDEN,
  validation_failed: HttpStatus.BAD_REQUEST,
  conflict: HttpStatus.CONFLICT,
  quota_exceeded: HttpStatus.CONFLICT,
  rate_limited: HttpStatus.TOO_MANY_REQUESTS,
  payload_too_large: HttpStatus.PAYLOAD_TOO_LARGE,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  idempotency_key_reused: HttpStatus.UNPROCESSABLE_ENTITY,
  idempotency_key_in_progress: HttpStatus.CONFLICT,
};

/** The HTTP status a domain error is answered with (also per event in a batch answer). */
export function statusOfDomainError(code: DomainErrorCode): number {
  return STATUS_BY_CODE[code];
}

/** What a 503 for an unreachable database or broker asks the client to wait. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** Body of every error the API returns. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details: string[];
  correlationId: string;
}

/** Maps domain errors, Nest and Fastify HTTP errors and body parse errors to one JSON shape; 5xx are logged. */
@Catch()
export class GlobalExceptionFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const response = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const correlationId = (request.headers['x-request-id'] as string | undefined) ?? randomUUID();
    const body = this.toBody(exception, correlationId);
    if (body.statusCode >= 500) {
      this.logger.error({ err: exception, correlationId, path: request.url }, 'request failed');
    }
    if (exception instanceof DomainError && exception.retryAfterSeconds !== undefined) {
      void response.header('Retry-After', String(exception.retryAfterSeconds));
    } else if (body.statusCode === 503) {
      void response.header('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    }
    void response.status(body.statusCode).send(body);
  }

  private toBody(exception: unknown, correlationId: string): ErrorBody {
    if (exception instanceof DomainError) {
      const statusCode = STATUS_BY_CODE[exception.code];
      return {
        statusCode,
        error: exception.code,
        message: exception.message,
        details: exception.details,
        correlationId,
      };
    }
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const response = exception.getResponse();
      const raw = typeof response === 'string' ? response : (response as { message?: unknown }).message;
      const details = Array.isArray(raw)
        ? raw.map(String)
        : [typeof raw === 'string' ? raw : exception.message];
      const error = errorName(statusCode);
      const message = statusCode === 400 && details.length > 1 ? 'validation failed' : details[0];
      return { statusCode, error, message, details, correlationId };
    }
    // PostgreSQL text cannot hold U+0000 (or bytes invalid in UTF-8): the client's value, not our fault.
    const driverCode = (exception as { driverError?: { code?: unknown } })?.driverError?.code;
    if (driverCode === '22021' || driverCode === '22P05') {
      const message = 'text values must not contain NUL (\\u0000) characters';
      return {
        statusCode: HttpStatus.BAD_REQUEST,
        error: 'validation_failed',
        message,
        details: [message],
        correlationId,
      };
    }
    if (exception instanceof BodyParseError) {
      return {
        statusCode: exception.status,
        error: errorName(exception.status),
        message: exception.message,
        details: exception.details,
        correlationId,
      };
    }
    // PostgreSQL or Kafka unreachable (an API key lookup during an outage): worth retrying, not a bug.
    if (isTransientError(exception)) {
      return {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        error: 'unavailable',
        message: 'a dependency of the service is unavailable; retry later',
        details: [],
        correlationId,
      };
    }
    return {
      statusCode: 500,
      error: 'internal_error',
      message: 'internal error',
      details: [],
      correlationId,
    };
  }
}

/**
 * The answer to a request Fastify's router refuses before Nest sees it (its `frameworkErrors`: a
 * path that is not valid percent-encoding, a path segment past the router's length limit), in the
 * shape of every other error and without echoing the path back.
 */
export function routerErrorBody(
  error: { code?: string; statusCode?: number },
  requestId: unknown,
): ErrorBody {
  const statusCode = error.statusCode ?? HttpStatus.BAD_REQUEST;
  const message =
    error.code === 'FST_ERR_BAD_URL'
      ? 'the request path is not valid percent-encoded UTF-8'
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'a path segment is too long'
        : 'the request could not be routed';
  return {
    statusCode,
    error: errorName(statusCode),
    message,
    details: [message],
    correlationId: typeof requestId === 'string' ? requestId : randomUUID(),
  };
}

function errorName(status: number): string {
  const names: Record<number, string> = {
    400: 'bad_request',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'not_found',
    405: 'method_not_allowed',
    409: 'conflict',
    413: 'payload_too_large',
    414: 'uri_too_long',
    415: 'unsupported_media_type',
    422: 'unprocessable_entity',
    429: 'too_many_requests',
    503: 'unavailable',
  };
  return names[status] ?? `http_${status}`;
}
