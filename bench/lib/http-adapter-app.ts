/**
 * The app the HTTP adapter bench (bench/lib/http-adapter.ts) loads, run as a child process: Nest
 * with one `POST /v1/events` route that takes the service's real body DTO and answers 202 with a
 * small JSON body, doing nothing else. ADAPTER_PLATFORM picks Express or Fastify, ADAPTER_PIPES=1
 * installs the service's global pipes (depth limit, then validation), 0 leaves the route bare.
 * The pipes and the DTO are the service's own build (dist/), so the bench measures today's code.
 * Prints `{"port":N}` on stdout once it listens.
 */
import 'reflect-metadata';
import { isUtf8 } from 'node:buffer';
import { join } from 'node:path';
import { Body, Controller, HttpCode, Module, Post, type PipeTransform, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

type Platform = 'express' | 'fastify';

const DIST = process.env.ADAPTER_DIST ?? join(__dirname, '..', '..', 'dist');
/** The service's default HOOKSTREAM_MAX_BODY_BYTES; the bench's bodies are far below it. */
const BODY_LIMIT = 1024 * 1024;

// The service's compiled modules, loaded at run time: the bench tree does not compile src/.
/* eslint-disable @typescript-eslint/no-require-imports */
const { PublishEventDto } = require(join(DIST, 'ingest/dto/publish-event.dto.js')) as {
  PublishEventDto: Type<unknown>;
};
const { globalPipes } = require(join(DIST, 'common/global-pipes.js')) as {
  globalPipes: () => PipeTransform[];
};
const { useJsonBodyParser } = require(join(DIST, 'common/json-body.js')) as {
  useJsonBodyParser: (fastify: unknown, limit: number) => void;
};
/* eslint-enable @typescript-eslint/no-require-imports */

@Controller('v1/events')
class BenchIngestController {
  @Post()
  @HttpCode(202)
  publish(@Body() body: Record<string, unknown>): { id: string } {
    return { id: typeof body.id === 'string' ? body.id : 'accepted' };
  }
}
// The DTO is only known at run time, so the parameter type the pipes read (design:paramtypes,
// which emitDecoratorMetadata would have written) is set by hand before Nest reads it at init.
Reflect.defineMetadata('design:paramtypes', [PublishEventDto], BenchIngestController.prototype, 'publish');

@Module({ controllers: [BenchIngestController] })
class BenchIngestModule {}

async function main(): Promise<void> {
  const platform = process.env.ADAPTER_PLATFORM as Platform;
  const pipes = process.env.ADAPTER_PIPES === '1';
  const app = platform === 'fastify' ? await createFastifyApp() : await createExpressApp();
  // The service's own pipes, as src/app.ts installs them.
  if (pipes) app.useGlobalPipes(...globalPipes());
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

/** Fastify as src/app.ts sets it up: the service's own JSON parser in place of Fastify's. */
async function createFastifyApp(): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    BenchIngestModule,
    new FastifyAdapter({ bodyLimit: BODY_LIMIT }),
    { logger: false, bodyParser: false },
  );
  useJsonBodyParser(app.getHttpAdapter().getInstance(), BODY_LIMIT);
  return app;
}

/**
 * Express as src/app.ts set it up before decision 66: body-parser's JSON parser with the UTF-8
 * check (all a valid body costs of it), no x-powered-by.
 */
async function createExpressApp(): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(BenchIngestModule, {
    logger: false,
    bodyParser: false,
  });
  app.useBodyParser('json', {
    limit: BODY_LIMIT,
    verify: (_request: unknown, _response: unknown, body: Buffer) => {
      if (!isUtf8(body)) throw Object.assign(new Error('request body is not valid UTF-8'), { status: 400 });
    },
  });
  app.disable('x-powered-by');
  return app;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
