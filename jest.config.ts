/**
 * Jest runs the TypeScript sources of test/ directly (through SWC), in two groups:
 * - `unit`: pure or stubbed tests, no spawned system: `npm run test:unit` (no build needed);
 * - `e2e`: tests that spawn the real system (Temporal dev server, Postgres, worker, API, sandbox CRM,
 *   Chromium) from dist/, so they need `npm run build` first: `npm run test:e2e`, or `npm test` for both.
 *
 * Node 20 cannot load a TypeScript config by itself, so jest reads this file through ts-node
 * (transpile only, as CommonJS: the project's tsconfig uses nodenext).
 * @jest-config-loader ts-node
 * @jest-config-loader-options {"transpileOnly": true, "compilerOptions": {"module": "CommonJS", "moduleResolution": "node10"}}
 */
import type { Config } from 'jest';

/** SWC options matching tsconfig.json: legacy decorators with metadata (NestJS, TypeORM), ES2022, CommonJS. */
const swcForTypeScript = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

/** The same for the ESM-only packages below, so that jest's CommonJS module system can load them. */
const swcForEsmPackages = {
  jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' },
  module: { type: 'commonjs' },
};

/**
 * ESM-only packages that the code under test imports (oauth4webapi, by libs/providers/oauth-client.ts).
 * Node itself loads them through require(esm); jest's module system cannot, so SWC turns them into
 * CommonJS. oidc-provider (koa and many more ESM packages) is kept out of the test process altogether:
 * test/support/oidc-server runs it as a child process.
 */
const esmOnlyPackages = ['oauth4webapi'];

/** Directories of the fast group: no spawned system, no build needed. */
const unitDirectories = ['unit', 'workflows', 'nest', 'replay'];

const shared = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: {
    '^.+\\.tsx?$': ['@swc/jest', swcForTypeScript],
    '^.+\\.m?js$': ['@swc/jest', swcForEsmPackages],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnlyPackages.join('|')})/)`],
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/dist/'],
  // fetch's JSON parsed in the test's own realm, so node:assert's strict deep equality holds.
  setupFiles: ['<rootDir>/test/support/jest-setup.ts'],
} satisfies Config;

const config: Config = {
  // Unit tests with property checks take a few seconds; the e2e group raises this (test/support/jest-e2e-setup.ts).
  testTimeout: 30_000,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: unitDirectories.map((directory) => `<rootDir>/test/${directory}/**/*.{test,spec}.ts`),
    },
    {
      ...shared,
      displayName: 'e2e',
      // Everything else under test/: test/*.e2e.test.ts, test/sandbox-*.test.ts, test/browser/**.
      testMatch: ['<rootDir>/test/**/*.{test,spec}.ts'],
      testPathIgnorePatterns: [
        ...shared.testPathIgnorePatterns,
        ...unitDirectories.map((directory) => `<rootDir>/test/${directory}/`),
        '<rootDir>/test/chaos/',
        '<rootDir>/test/cluster/',
      ],
      setupFilesAfterEnv: ['<rootDir>/test/support/jest-e2e-setup.ts'],
    },
    {
      // `npm run test:chaos` only (never `npm test`): kills every process while operations run, for minutes.
      ...shared,
      displayName: 'chaos',
      testMatch: ['<rootDir>/test/chaos/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/chaos/jest-chaos-setup.ts'],
    },
    {
      // `npm run test:cluster` only: the topology of a Temporal cluster (4 service processes on Postgres, 2 workers, 2 APIs).
      ...shared,
      displayName: 'cluster',
      testMatch: ['<rootDir>/test/cluster/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/jest-e2e-setup.ts'],
    },
  ],
};

export default config;
