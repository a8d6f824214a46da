/** The README's configuration table, generated from the settings catalogue. */
import type { Setting } from './schema';
import { ALL_SETTINGS } from './settings';

/** The table sits between these comments in README.md. */
export const SETTINGS_TABLE_START = '<!-- settings-table:start -->';
export const SETTINGS_TABLE_END = '<!-- settings-table:end -->';

const cell = (value: string): string => value.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderSettingsTable(settings: readonly Setting<unknown>[] = ALL_SETTINGS): string {
  const rows = settings.map((s) => `| \`${s.name}\` | ${cell(s.defaultText)} | ${cell(s.accepted)} | ${cell(s.description)} |`);
  return ['| variable | default | accepted | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

function tableBounds(readme: string): { from: number; to: number } {
  const start = readme.indexOf(SETTINGS_TABLE_START);
  const end = readme.indexOf(SETTINGS_TABLE_END);
  if (start === -1 || end === -1 || end < start) throw new Error(`README.md has no ${SETTINGS_TABLE_START} … ${SETTINGS_TABLE_END} block`);
  return { from: start + SETTINGS_TABLE_START.length, to: end };
}

/** The table as it stands in the README (between the markers, trimmed). */
export function readmeSettingsTable(readme: string): string {
  const { from, to } = tableBounds(readme);
  return readme.slice(from, to).trim();
}

/** The variables the README's table names, in its order (first cell of each body row). */
export function readmeSettingNames(readme: string): string[] {
  return readmeSettingsTable(readme)
    .split('\n')
    .slice(2)
    .map((row) => /^\|\s*`([^`]+)`/.exec(row)?.[1])
    .filter((name): name is string => name !== undefined);
}

/** The README with its table replaced by the generated one. */
export function withGeneratedSettingsTable(readme: string): string {
  const { from, to } = tableBounds(readme);
  return `${readme.slice(0, from)}\n${renderSettingsTable()}\n${readme.slice(to)}`;
}
