/**
 * The README's configuration table lists exactly the settings of the catalogue (libs/config/settings.ts),
 * as generated from it: a setting added, renamed or removed without regenerating the table fails here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readmeSettingNames, readmeSettingsTable, renderSettingsTable } from '../../libs/config/settings-table';
import { ALL_SETTINGS } from '../../libs/config/settings';

const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
const REGENERATE = 'regenerate it: npm run build && node dist/scripts/settings-table.js --write';

describe("README's configuration table", () => {
  test('names every setting of the schema, and only those', () => {
    const inReadme = readmeSettingNames(readme);
    const inSchema = ALL_SETTINGS.map((s) => s.name);
    const missing = inSchema.filter((name) => !inReadme.includes(name));
    const unknown = inReadme.filter((name) => !inSchema.includes(name));
    expect({ missingFromReadme: missing, notInSchema: unknown }).toEqual({ missingFromReadme: [], notInSchema: [] });
    expect(new Set(inReadme).size).toBe(inReadme.length);
  });

  test(`is the table generated from the schema (${REGENERATE})`, () => {
    expect(readmeSettingsTable(readme)).toBe(renderSettingsTable());
  });
});
