import { join } from 'node:path';
import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { OperatorRoute } from '../../common/roles';
import { StaticPage } from '../../common/static-page';

/** The page is public; every number it shows comes from admin-token JSON endpoints it calls. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:";

function dashboardPage(): StaticPage {
  const publicDir = join(__dirname, 'public');
  const uplotDir = join(require.resolve('uplot/package.json'), '..', 'dist');
  return new StaticPage(
    [
      ['index.html', join(publicDir, 'index.html')],
      ['app.js', join(publicDir, 'app.js')],
      ['style.css', join(publicDir, 'style.css')],
      ['uplot.js', join(uplotDir, 'uPlot.iife.min.js')],
      ['uplot.css', join(uplotDir, 'uPlot.min.css')],
    ],
    CSP,
  );
}

/** Serves the live dashboard: a static page and uPlot, read once from disk at startup. */
@ApiExcludeController()
@OperatorRoute()
@Controller('dashboard')
export class DashboardController {
  private readonly files = dashboardPage();

  @Get()
  page(@Res() reply: FastifyReply): void {
    this.files.send(reply, 'index.html');
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() reply: FastifyReply): void {
    this.files.send(reply, name);
  }
}
