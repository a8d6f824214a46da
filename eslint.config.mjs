// Lint: ESLint's and typescript-eslint's recommended rules, type-aware, over the TypeScript sources.
import js from '@eslint/js';
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

// Workflow code runs in Temporal's deterministic sandbox: no Node APIs, no I/O, no activity or client code.
const WORKFLOW_FORBIDDEN_IMPORTS = [
  ...builtinModules.flatMap((m) => [m, `node:${m}`]),
  '@temporalio/activity',
  '@temporalio/client',
  '@temporalio/worker',
  '@nestjs/*',
  'typeorm',
  'pg',
  'pino',
  'oauth4webapi',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.data/**', '.temporal/**', 'test-results/**', 'bench-results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['jest.config.ts'] }, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-unsafe-function-type': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: WORKFLOW_FORBIDDEN_IMPORTS.filter((m) => !m.includes('*')).map((name) => ({
            name,
            message: 'Workflow code is deterministic and does no I/O: do this in an activity.',
            allowTypeImports: true,
          })),
          patterns: [
            { group: ['@nestjs/*'], message: 'Workflow code is deterministic and does no I/O: do this in an activity.', allowTypeImports: true },
            { group: ['**/apps/**'], message: 'Workflows never import the apps.' },
            { group: ['**/activities', '**/activities/**'], message: 'Workflows may only import activity types.', allowTypeImports: true },
          ],
        },
      ],
    },
  },
  {
    // Shared code points one way: libs/ never depends on the workflows, the activities or the apps.
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/workflows', '**/workflows/**', '**/apps/**', '**/activities', '**/activities/**'], message: 'libs/ must not depend on workflows/, activities/ or apps/.' },
          ],
        },
      ],
    },
  },
  {
    // Hand-written browser code of the console, the connect pages and the link SDK (no build step).
    files: ['apps/api/console/public/**/*.js', 'apps/api/sdk/public/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(
        [
          'window', 'document', 'navigator', 'location', 'history', 'sessionStorage', 'fetch', 'URL', 'URLSearchParams',
          'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Intl', 'Node', 'console',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    files: ['apps/api/console/public/**/*.js'],
    ignores: ['apps/api/console/public/connect.js'],
    languageOptions: { sourceType: 'module' },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
