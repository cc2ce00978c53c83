// Helper files start with `_` (test/support is never a test). TypeScript runs through tsx: no build step.
export default {
  files: ['test/**/*.test.ts', '!test/**/_*.ts', '!test/support/**'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '120s',
  concurrency: 2,
  workerThreads: false,
};
