// Shared lint configuration for every workspace package (flat config; ESLint looks upward
// from each package folder, so this one file serves services/* and loadtest/).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import nx from '@nx/eslint-plugin';
import chaperone from './eslint-rules/no-cycle-with-types.js';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/*.generated.ts', '**/node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true } },
    plugins: { 'import-x': importX, '@nx': nx, chaperone },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
      'import-x/no-cycle': 'error',
      // import-x/no-cycle skips `import type`; this one counts it (eslint-rules/no-cycle-with-types.js).
      'chaperone/no-cycle-with-types': 'error',
      '@nx/enforce-module-boundaries': [
        'error',
        {
          allow: [],
          depConstraints: [
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib', 'type:data'] },
            { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib', 'type:data'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib', 'type:data', 'type:service'] },
            { sourceTag: 'type:test', onlyDependOnLibsWithTags: ['type:lib', 'type:data', 'type:service', 'type:app', 'type:tool'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'type:data', 'type:service'] },
            // Scopes: a shared library imports shared libraries only; a service imports shared
            // libraries only (never another service, nor the CLI, console, tests or tools).
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            ...['scope:gateway', 'scope:api', 'scope:approvals', 'scope:materializer'].map((sourceTag) => ({ sourceTag, onlyDependOnLibsWithTags: ['scope:shared'] })),
            // The browser console imports only the API's wire types (type-only, @chaperone/api/web-types).
            { sourceTag: 'scope:console', onlyDependOnLibsWithTags: ['scope:api'] },
          ],
        },
      ],
    },
  },
  {
    // Temporal workflow code runs in a deterministic sandbox: no Node built-ins there.
    files: ['**/workflows.ts', '**/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'fs', 'path', 'crypto', 'os', 'net', 'http', 'child_process'] }],
    },
  },
  {
    files: ['**/*.test.ts', '**/*.bench.ts', '**/testing.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'before', 'after', 'beforeEach', 'afterEach'] }] }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
