import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { OperatorRoute } from '../../common/roles';

interface Asset {
  contentType: string;
  body: Buffer;
}

/** The page is public; every number it shows comes from admin-token JSON endpoints it calls. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:";

function loadAssets(): Map<string, Asset> {
  const publicDir = join(__dirname, 'public');
  const uplotDir = join(require.resolve('uplot/package.json'), '..', 'dist');
  const files: Array<[string, string, string]> = [
    ['index.html', join(publicDir, 'index.html'), 'text/html; charset=utf-8'],
    ['app.js', join(publicDir, 'app.js'), 'text/javascript; charset=utf-8'],
    ['style.css', join(publicDir, 'style.css'), 'text/css; charset=utf-8'],
    ['uplot.js', join(uplotDir, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['uplot.css', join(uplotDir, 'uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  return new Map(files.map(([name, path, contentType]) => [name, { contentType, body: readFileSync(path) }]));
}

/** Serves the live dashboard: a static page and uPlot, read once from disk at startup. */
@ApiExcludeController()
@OperatorRoute()
@Controller('dashboard')
export class DashboardController {
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
    if (name === 'index.html') res.setHeader('content-security-policy', CSP);
    res.type(asset.contentType).send(asset.body);
  }
}
