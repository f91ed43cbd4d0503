import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Logger } from 'pino';
import { AppModule } from './app.module';
import type { AppConfig } from './config/config';
import { globalPipes } from './common/global-pipes';
import { GlobalExceptionFilter } from './common/exception.filter';
import { PinoNestLogger } from './common/logger';
import { verifyUtf8Body } from './common/utf8-body';
import { EarlyIngestRefusal } from './ingest/early-ingest-refusal';
import { ConsumerRunner } from './kafka/consumer-runner';
import { OpsSurface } from './ops/ops-listener';
import { EventCatalogue } from './catalogue/event-catalogue';
import { withEventDataSchemas } from './catalogue/openapi-components';

/**
 * Builds the whole service, initialised and consuming (the consumers this process's roles run, as
 * a Nest microservice on the project's runner); the caller starts the HTTP listener. Used by
 * main.ts and by tests that boot it in-process.
 */
export async function createApp(config: AppConfig, logger: Logger): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logger), {
    logger: new PinoNestLogger(logger.child({ component: 'nest' })),
    bodyParser: false,
    abortOnError: false,
  });
  // Before the body parser: a tenant over its ingest rate is refused without its body being read.
  if (config.roles.has('api')) app.use(app.get(EarlyIngestRefusal).handle);
  app.useBodyParser('json', { limit: config.security.maxBodyBytes, verify: verifyUtf8Body });
  app.disable('x-powered-by');
  // The client address the brake on failed authentications counts by (behind a proxy, its header).
  if (config.security.trustProxy !== null) app.set('trust proxy', config.security.trustProxy);
  app.use(app.get(OpsSurface).middleware);
  app.useGlobalPipes(...globalPipes());
  app.useGlobalFilters(new GlobalExceptionFilter(logger));

  // The API's documentation comes with the API (the `api` role; ApiRoleGuard hides the rest).
  if (config.roles.has('api')) {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Hookstream')
        .setDescription('Webhook delivery: endpoints, events, attempts, dead letters and replay.')
        .setVersion('1')
        .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'tenant API key or admin token' })
        .build(),
    );
    const catalogue = app.get(EventCatalogue);
    SwaggerModule.setup('docs', app, document, {
      jsonDocumentUrl: 'docs-json',
      // Each catalogued type's data schema as a component, as the catalogue stands at this request.
      patchDocumentOnRequest: (_request, _response, built) =>
        withEventDataSchemas(built, catalogue.entries()),
    });
  }

  // Topics exist and the endpoint cache is loaded (module init) before any consumer starts.
  app.connectMicroservice<MicroserviceOptions>({ strategy: app.get(ConsumerRunner) });
  await app.init();
  await app.startAllMicroservices();
  return app;
}
