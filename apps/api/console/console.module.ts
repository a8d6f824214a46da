import { Module } from '@nestjs/common';
import { ServeStaticModule } from '@nestjs/serve-static';
import type { Response } from 'express';
import { fromProjectRoot } from '../../../libs/config/project-root';

/** serve-static's own `Cache-Control` is off (`cacheControl: false`); this one is sent instead. */
export function cacheControl(value: string): (res: Response) => void {
  return (res) => res.setHeader('Cache-Control', value);
}

/**
 * The admin console: one static page and plain JS modules (no build step), read from the source
 * tree (see common/project-root.ts). Public by design — it holds no data; the admin signs in with
 * an API key, which the page keeps in sessionStorage and sends as `Authorization: Bearer` from
 * fetch, never in a URL. Security headers (CSP, nosniff, …) come from helmet (main.ts).
 *
 * - `/console` (and `/console/`): the page, never cached (it names the modules to load). The
 *   console routes on the URL fragment, so every deep link (`/console#/integrations/<id>`) is this page.
 * - `/assets/*`: the console's modules and styles, and what the connect pages share with it (theme,
 *   favicon, connect.js); revalidated on every use (ETag), so an upgrade shows at once. An unknown
 *   file is a 404, never the page.
 */
@Module({
  imports: [
    ServeStaticModule.forRoot(
      {
        rootPath: fromProjectRoot('apps/api/console/page'),
        serveRoot: '/console',
        renderPath: '',
        serveStaticOptions: { index: false, redirect: false, cacheControl: false, setHeaders: cacheControl('no-store') },
      },
      {
        rootPath: fromProjectRoot('apps/api/console/public'),
        serveRoot: '/assets',
        exclude: ['/assets/{*file}'],
        serveStaticOptions: { index: false, redirect: false, cacheControl: false, setHeaders: cacheControl('no-cache') },
      },
    ),
  ],
})
export class ConsoleModule {}
