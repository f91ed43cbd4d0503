import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { Get, NotFoundException, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Whether a file name has a type a page may serve (HTML, JavaScript, CSS). */
export const isPageAsset = (name: string): boolean => CONTENT_TYPES[extname(name)] !== undefined;

/**
 * A static page and its assets (the operators' dashboard, the tenant portal), read once from disk
 * at startup and served by name with the headers every one of them needs; `index.html` also gets
 * the page's Content-Security-Policy and any headers of its own.
 */
export class StaticPage {
  private readonly assets: Map<string, { contentType: string; body: Buffer }>;

  /** @param files served name -> path on disk; the content type follows the served name's extension. */
  constructor(
    files: Iterable<[string, string]>,
    private readonly csp: string,
    private readonly headers: Record<string, string> = {},
  ) {
    this.assets = new Map(
      [...files].map(([name, path]) => [
        name,
        { contentType: CONTENT_TYPES[extname(name)], body: readFileSync(path) },
      ]),
    );
  }

  /** Sends one asset, or throws 404 for a name the page does not have. */
  send(reply: FastifyReply, name: string): void {
    const asset = this.assets.get(name);
    if (!asset) throw new NotFoundException();
    // With @Res() Nest applies no @Header decorators: set them here.
    void reply.header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff');
    for (const [header, value] of Object.entries(this.headers)) void reply.header(header, value);
    if (name === 'index.html') void reply.header('content-security-policy', this.csp);
    void reply.type(asset.contentType).send(asset.body);
  }
}

/**
 * A controller that serves one StaticPage: the page at the controller's route, its assets under
 * `assets/:name`. A subclass gives the route (its `@Controller`), its roles and the page.
 */
export abstract class StaticPageController {
  protected abstract readonly files: StaticPage;

  @Get()
  page(@Res() reply: FastifyReply): void {
    this.files.send(reply, 'index.html');
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() reply: FastifyReply): void {
    this.files.send(reply, name);
  }
}
