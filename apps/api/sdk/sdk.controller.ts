import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/public.decorator';
import { resolveAssetDir, StaticFiles } from '../console/static-files';

const sdkFiles = new StaticFiles(resolveAssetDir(__dirname, 'apps/api/sdk/public'));

/**
 * The embeddable link SDK: `/sdk/reauth-link.js`, loaded by a product's own pages (any origin) to
 * open a magic link in a popup and hear back through postMessage; plus a documented example.
 */
@ApiExcludeController()
@Public()
@Controller('sdk')
export class SdkController {
  @Get('reauth-link.js')
  script(@Res() res: Response): void {
    // Loaded cross-origin by design (a classic <script src>); nothing in it is tenant-specific.
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    res.setHeader('Access-Control-Allow-Origin', '*');
    sdkFiles.send(res, 'reauth-link.js', 'public, max-age=300');
  }

  @Get(':file')
  file(@Param('file') file: string, @Res() res: Response): void {
    if (file === 'reauth-link.js') return this.script(res);
    sdkFiles.send(res, file);
  }
}
