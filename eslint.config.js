/**
 * ESLint: the recommended JS and TypeScript rules, the type-aware rules that catch a lost promise or
 * a switch that forgot a case, React's hooks rules for the renderer, and the layer boundaries (which
 * folder may import what; see docs/architecture.md). e2e/integration/layer-boundaries.test.ts proves them.
 */
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const TS = ['**/*.ts', '**/*.tsx'];

/** Packages that load Electron: the headless agent must run where Electron is absent. */
const ELECTRON_PACKAGES = [
  { regex: '^electron($|/)', message: 'main/core and the CLI run without Electron: the Electron host brings it.' },
  {
    regex: '^electron-store($|/)',
    message: 'electron-store imports electron: use conf, or leave storage to the host.',
  },
  {
    regex: '^electron-log($|/(?!node(\\.js)?$))',
    message: 'electron-log/main loads electron: the core logs through electron-log/node.',
  },
];

/** A relative import that leaves main/core for a host or the UI: ../electron/…, ../../cli.js, ../../../renderer/… */
const CORE_OUTSIDE =
  '^\\.{1,2}/(\\.\\./)*(electron|cli|renderer|preload)(/|\\.js$|$)|(^|/)main/(electron|cli)(/|\\.js$|$)';

/** `no-restricted-imports` with these patterns; allowTypeImports per pattern needs the typescript-eslint one. */
const restrict = (patterns) => ({ '@typescript-eslint/no-restricted-imports': ['error', { patterns }] });

export default defineConfig(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'dist-electron/',
      'release/',
      'test-results/',
      'playwright-report/',
      'bench-results/',
      'e2e/screenshots/',
    ],
  },
  js.configs.recommended,
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
  {
    files: TS,
    extends: [tseslint.configs.recommended],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // type-aware: a promise nobody handles is an unhandled rejection
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      '@typescript-eslint/no-base-to-string': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // in the agent's processes an unhandled rejection ends the process: `void` is no answer there
    files: ['main/**/*.ts'],
    rules: { '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }] },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    extends: [reactHooks.configs.flat['recommended-latest']],
    languageOptions: { globals: globals.browser },
  },

  // ---- layer boundaries ----------------------------------------------------------------------------
  {
    files: ['main/core/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: `ImportExpression[source.value=/${CORE_OUTSIDE.replaceAll('/', '\\/')}|^electron/]`,
          message: 'main/core never loads Electron, a host or the UI, not even lazily.',
        },
      ],
      ...restrict([
        ...ELECTRON_PACKAGES,
        {
          regex: CORE_OUTSIDE,
          message: 'main/core is the agent: it never reaches a host (main/electron, main/cli), the preload or the UI.',
        },
      ]),
    },
  },
  {
    files: ['main/cli.ts', 'main/cli/**/*.ts'],
    rules: restrict([
      ...ELECTRON_PACKAGES,
      {
        regex: '^\\.{1,2}/(\\.\\./)*(electron|renderer|preload)(/|\\.js$|$)',
        message: 'the headless CLI is a host of main/core: it never loads the Electron host, the preload or the UI.',
      },
    ]),
  },
  {
    files: ['main/electron/**/*.ts'],
    rules: restrict([
      {
        regex: '^\\.{1,2}/(\\.\\./)*(cli|renderer|preload)(/|\\.js$|$)',
        message: 'the Electron host reaches the UI over IPC only, and never the headless CLI.',
      },
    ]),
  },
  {
    // bundled into the sandboxed preload: types and constants, nothing that loads a module
    files: ['main/electron/ipc-contract.ts'],
    rules: restrict([
      {
        regex: '^(?!\\.\\./core/api\\.js$)',
        message: 'ipc-contract.ts is bundled into the preload: it imports only the contract types.',
      },
      { regex: '^\\.\\./core/api\\.js$', allowTypeImports: true, message: 'import the contract with `import type`.' },
    ]),
  },
  {
    files: ['preload/**/*.ts'],
    rules: restrict([
      {
        regex: '^(?!electron$|(\\.\\./)+main/core/api\\.js$|(\\.\\./)+main/electron/ipc-contract\\.js$)',
        message:
          'the preload imports only electron and the contract (main/core/api.ts, main/electron/ipc-contract.ts).',
      },
      { regex: '(^|/)main/core/api\\.js$', allowTypeImports: true, message: 'import the contract with `import type`.' },
    ]),
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    rules: restrict([
      {
        regex: '(^|/)main/(?!core/api\\.js$)|(^|/)preload(/|$)|^electron($|/)|^node:',
        message: 'the renderer sees the agent only through the contract types (main/core/api.ts) and a transport.',
      },
      { regex: '(^|/)main/core/api\\.js$', allowTypeImports: true, message: 'import the contract with `import type`.' },
    ]),
  },
);
