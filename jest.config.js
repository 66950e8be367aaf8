// Jest runs in native ESM mode (node --experimental-vm-modules, see package.json "test") because
// fhir-kit-client ships ESM only; ts-jest compiles our TypeScript to ESM on the fly.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 60000,
  // Suites start real servers and SQLite files; two workers fit the 2-core machines.
  maxWorkers: 2,
};
