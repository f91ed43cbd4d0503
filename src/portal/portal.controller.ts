import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';

interface Asset {
  contentType: string;
  body: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * No inline script and no other origin: the page holds a tenant credential, so an injected script
 * is the threat that matters. `no-referrer` keeps the portal's address out of receivers' logs.
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'self'; base-uri 'none'; form-action 'self'";

function loadAssets(): Map<string, Asset> {
  const publicDir = join(__dirname, 'public');
  return new Map(
    readdirSync(publicDir)
      .filter((name) => TYPES[extname(name)] !== undefined)
      .map((name) => [
        name,
        { contentType: TYPES[extname(name)], body: readFileSync(join(publicDir, name)) },
      ]),
  );
}

/**
 * The tenant portal: static files read once at startup. The page is public; it signs in with an
 * API key or a portal link and calls only the tenant REST API (so it is served with the `api` role).
 */
@ApiExcludeController()
@Controller('portal')
export class PortalController {
  private readonly assets = loadAssets();

  @Get()
  page(@Res() res: Response): void {
    this.send(res, 'index.html');
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() res: Response): void {
    this.send(res, name);
  }

  private send(res: Response, name: string): void {
    const asset = this.assets.get(name);
    if (!asset) throw new NotFoundException();
    // With @Res() Nest applies no @Header decorators: set them here.
    res.setHeader('cache-control', 'no-cache');
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    if (name === 'index.html') res.setHeader('content-security-policy', CSP);
    res.type(asset.contentType).send(asset.body);
  }
}
