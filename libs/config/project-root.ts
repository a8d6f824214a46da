import { existsSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The project's root folder: the nearest one up from this file that holds a package.json, found
 * once. The same code runs from the sources (jest) and compiled under dist/ (which has no
 * package.json), and both find the same root.
 *
 * Why it matters: the browser files (.html, .js, .css, .svg) and the page templates (.hbs) are not
 * TypeScript, so tsc puts nothing of them into dist/. Rather than copying them there at build time
 * (a second copy that can go stale, and a rebuild for every edit), the API reads them from the source
 * tree under this root, in every mode. A deployment therefore ships the project folder, not dist/
 * alone (`npm start` runs from it).
 */
export const PROJECT_ROOT = findProjectRoot(__dirname);

/** A path below the project root, e.g. `fromProjectRoot('apps/api/console/public')`. */
export function fromProjectRoot(relative: string): string {
  return path.join(PROJECT_ROOT, relative);
}

function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${start}: cannot find the project root`);
  }
}
