import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Controller } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { isPageAsset, StaticPage, StaticPageController } from '../common/static-page';

/**
 * No inline script and no other origin: the page holds a tenant credential, so an injected script
 * is the threat that matters. `no-referrer` keeps the portal's address out of receivers' logs.
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'self'; base-uri 'none'; form-action 'self'";

function portalPage(): StaticPage {
  const publicDir = join(__dirname, 'public');
  const files = readdirSync(publicDir)
    .filter(isPageAsset)
    .map((name): [string, string] => [name, join(publicDir, name)]);
  return new StaticPage(files, CSP, { 'referrer-policy': 'no-referrer' });
}

/**
 * The tenant portal: static files read once at startup. The page is public; it signs in with an
 * API key or a portal link and calls only the tenant REST API (so it is served with the `api` role).
 */
@ApiExcludeController()
@Controller('portal')
export class PortalController extends StaticPageController {
  protected readonly files = portalPage();
}
