import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/public.decorator';
import { resolveAssetDir, StaticFiles } from './static-files';

/** One folder for the console and the connect pages: the same stylesheet gives them one look. */
export const publicAssets = new StaticFiles(resolveAssetDir(__dirname, 'apps/api/console/public'));

/**
 * The admin console: a static page and plain JS modules (no build step). Public by design — it
 * holds no data; the admin signs in with an API key, which the page keeps in sessionStorage and
 * sends as `Authorization: Bearer` from fetch, never in a URL.
 */
@ApiExcludeController()
@Public()
@Controller()
export class ConsoleController {
  @Get('console')
  index(@Res() res: Response): void {
    publicAssets.send(res, 'index.html', 'no-store');
  }

  /** Shared static files: console modules and styles, the connect pages' stylesheet and script. */
  @Get('assets/:file')
  asset(@Param('file') file: string, @Res() res: Response): void {
    publicAssets.send(res, file);
  }
}
