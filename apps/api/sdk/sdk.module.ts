import { Module } from '@nestjs/common';
import { ServeStaticModule } from '@nestjs/serve-static';
import type { Response } from 'express';
import * as path from 'node:path';
import { fromProjectRoot } from '../../../libs/config/project-root';

const SDK_SCRIPT = 'reauth-link.js';

function sdkHeaders(res: Response, file: string): void {
  if (path.basename(file) !== SDK_SCRIPT) {
    res.setHeader('Cache-Control', 'no-cache');
    return;
  }
  // Loaded cross-origin by design (a classic <script src> on a product's own pages); nothing in it
  // is tenant-specific. Overrides helmet's `same-origin` resource policy for this one file.
  res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Cache-Control', 'public, max-age=300');
}

/**
 * The embeddable link SDK: `/sdk/reauth-link.js`, loaded by a product's own pages (any origin) to
 * open a magic link in a popup and hear back through postMessage; plus a documented example
 * (`/sdk/example.html` and its script and stylesheet). Static files read from the source tree (see
 * common/project-root.ts); an unknown file is a 404.
 */
@Module({
  imports: [
    ServeStaticModule.forRoot({
      rootPath: fromProjectRoot('apps/api/sdk/public'),
      serveRoot: '/sdk',
      exclude: ['/sdk/{*file}'],
      serveStaticOptions: { index: false, redirect: false, cacheControl: false, setHeaders: sdkHeaders },
    }),
  ],
})
export class SdkModule {}
