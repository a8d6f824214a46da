/**
 * The machinery behind the settings catalogue (settings.ts): what a setting is, how a raw
 * environment value becomes a typed one, and how every problem of a start is reported at once.
 * Nothing here reads `process.env`; the loaders in config.ts decide which environment to read.
 */

/** An environment as the loaders read it: `process.env`, or a plain object in tests. */
export type Env = Readonly<Record<string, string | undefined>>;

/** How one kind of value is written (`accepted`, shown in errors and in the README) and parsed. */
export interface Kind<T> {
  readonly accepted: string;
  /** Values of this kind are never echoed in error messages (keys, passwords). */
  readonly secret?: boolean;
  /** Parses a set, non-empty value; throws an Error (its message is shown as detail) when it is malformed. */
  parse(raw: string): T;
}

export interface Setting<T> {
  /** The environment variable. */
  readonly name: string;
  readonly accepted: string;
  readonly secret: boolean;
  /** The default as the README shows it (derived and computed defaults are described in words). */
  readonly defaultText: string;
  readonly description: string;
  /** The value when the variable is unset or empty. */
  readonly fallback: T;
  parse(raw: string): T;
}

interface SettingText {
  name: string;
  description: string;
}

/** A setting with a default value; `defaultText` defaults to the value in backquotes. */
export function setting<T>(kind: Kind<T>, spec: SettingText & { fallback: T; defaultText?: string }): Setting<T> {
  return {
    name: spec.name,
    accepted: kind.accepted,
    secret: kind.secret ?? false,
    defaultText: spec.defaultText ?? `\`${String(spec.fallback)}\``,
    description: spec.description,
    fallback: spec.fallback,
    parse: (raw) => kind.parse(raw),
  };
}

/** A setting that may stay unset (`undefined`); `defaultText` says what happens then. */
export function optionalSetting<T>(kind: Kind<T>, spec: SettingText & { defaultText: string }): Setting<T | undefined> {
  return {
    name: spec.name,
    accepted: kind.accepted,
    secret: kind.secret ?? false,
    defaultText: spec.defaultText,
    description: spec.description,
    fallback: undefined,
    parse: (raw) => kind.parse(raw),
  };
}

/** Every problem of one start, so an operator fixes them in one round instead of one per restart. */
export class ConfigError extends Error {
  declare readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    const count = problems.length === 1 ? '1 setting is' : `${problems.length} settings are`;
    super(`invalid configuration: ${count} wrong\n${problems.map((p) => `  - ${p}`).join('\n')}\nThe settings are listed in the Configuration section of README.md.`);
    this.name = 'ConfigError';
    // Not enumerable, so that printing the error does not repeat the list after the message.
    Object.defineProperty(this, 'problems', { value: problems, enumerable: false });
    // A stack trace says nothing about a wrong environment variable: printing the error shows the message only.
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** Reads one setting from the environment: its value, or its fallback after recording what is wrong. */
export type ReadSetting = <T>(setting: Setting<T>) => T;

/** A typed group of settings (the API's and worker's, the sandbox CRM's, a script's) built from raw ones. */
export type Section<T> = (read: ReadSetting) => T;

export type SectionValues<S extends Record<string, Section<unknown>>> = { [K in keyof S]: ReturnType<S[K]> };

const SHOWN_VALUE_LIMIT = 60;

function problemOf(setting: Setting<unknown>, raw: string, error: unknown): string {
  const shown = setting.secret
    ? 'a value that does not fit (not shown: it is a secret)'
    : JSON.stringify(raw.length > SHOWN_VALUE_LIMIT ? `${raw.slice(0, SHOWN_VALUE_LIMIT)}…` : raw);
  const detail = error instanceof Error && error.message ? ` (${error.message})` : '';
  return `${setting.name}: expected ${setting.accepted}, got ${shown}${detail}`;
}

/**
 * Builds every section from `env`. A malformed value is recorded and its fallback used, so the
 * remaining settings are still checked; at the end all problems are thrown together.
 */
export function parseSections<S extends Record<string, Section<unknown>>>(sections: S, env: Env): SectionValues<S> {
  const problems = new Map<string, string>();
  const read: ReadSetting = <T>(setting: Setting<T>): T => {
    const raw = env[setting.name];
    if (raw === undefined || raw === '') return setting.fallback;
    try {
      return setting.parse(raw);
    } catch (error) {
      // Several sections may read the same setting (SANDBOX_CRM_PORT): report it once.
      problems.set(setting.name, problemOf(setting, raw, error));
      return setting.fallback;
    }
  };
  const values = {} as Record<string, unknown>;
  for (const [key, build] of Object.entries(sections)) values[key] = build(read);
  if (problems.size > 0) throw new ConfigError([...problems.values()]);
  return values as SectionValues<S>;
}
