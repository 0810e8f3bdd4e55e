// The real-engine suite: Docker, buildx, QEMU, a registry and a cache service on this machine.
// Runs the bundled dist/ as a runner would; one test at a time (one engine, two cores).
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }] },
  roots: ['<rootDir>/e2e'],
  testMatch: ['**/*.test.ts'],
  maxWorkers: 1,
  testTimeout: 30 * 60 * 1000,
  verbose: true
}
