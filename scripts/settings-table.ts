/**
 * Prints the README's configuration table, generated from libs/config/settings.ts; with `--write`
 * puts it into README.md (between the settings-table markers). Run after changing a setting:
 * `npm run build && node dist/scripts/settings-table.js --write`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderSettingsTable, withGeneratedSettingsTable } from '../libs/config/settings-table';

const readmePath = path.resolve(__dirname, '..', '..', 'README.md');

if (process.argv.includes('--write')) {
  fs.writeFileSync(readmePath, withGeneratedSettingsTable(fs.readFileSync(readmePath, 'utf8')));
  console.log(`${path.relative(process.cwd(), readmePath) || 'README.md'}: configuration table regenerated`);
} else {
  console.log(renderSettingsTable());
}
