import { join } from 'node:path';
import { Controller } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { StaticPage, StaticPageController } from '../../common/static-page';

/**
 * Swagger UI styles its own elements inline and loads its icons as data URLs. Never framed: a
 * framing page could have a visitor paste a key into "Authorize" and click through "Try it out".
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

function docsPage(): StaticPage {
  const publicDir = join(__dirname, 'public');
  const swaggerDir = join(require.resolve('swagger-ui-dist/package.json'), '..');
  return new StaticPage(
    [
      ['index.html', join(publicDir, 'index.html')],
      ['init.js', join(publicDir, 'init.js')],
      ...['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js'].map(
        (name): [string, string] => [name, join(swaggerDir, name)],
      ),
    ],
    CSP,
    { 'referrer-policy': 'no-referrer' },
  );
}

/**
 * Swagger UI over the OpenAPI document (`/docs-json`, src/app.ts), read once from disk at startup:
 * swagger-ui-dist, the files @nestjs/swagger's own UI serves, which on Fastify would need
 * @fastify/static (its current major wants Node 22). Part of the REST API: a replica without the
 * `api` role answers 404.
 */
@ApiExcludeController()
@Controller('docs')
export class DocsController extends StaticPageController {
  protected readonly files = docsPage();
}
