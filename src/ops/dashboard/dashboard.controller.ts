import { join } from 'node:path';
import { Controller } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { OperatorRoute } from '../../common/roles';
import { StaticPage, StaticPageController } from '../../common/static-page';

/** The page is public; every number it shows comes from the /v1/ops JSON endpoints it calls (ops or admin token). */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

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
    { 'referrer-policy': 'no-referrer' },
  );
}

/** Serves the live dashboard: a static page and uPlot, read once from disk at startup. */
@ApiExcludeController()
@OperatorRoute()
@Controller('dashboard')
export class DashboardController extends StaticPageController {
  protected readonly files = dashboardPage();
}
