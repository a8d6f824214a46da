/**
 * Where the project is, wherever the test code runs from: jest runs test/ from the TypeScript
 * sources, while the compiled copy lives in dist/test. The apps the e2e tests spawn always come
 * from dist/ (which `npm test` builds first).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** The directory holding package.json. */
export const ROOT = findProjectRoot(__dirname);
/** The build output (`npm run build`). */
export const DIST = path.join(ROOT, 'dist');
