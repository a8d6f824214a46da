// Lint: ESLint's and typescript-eslint's recommended rules over the TypeScript sources.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.data/**', '.temporal/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-unsafe-function-type': 'off',
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
    files: ['apps/api/console/public/console.js', 'apps/api/console/public/api.js', 'apps/api/console/public/dom.js'],
    languageOptions: { sourceType: 'module' },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
