/**
 * The dependency rules of DESIGN.md, checked in CI (`pnpm run arch`).
 * Production code only: tests may use other packages as fixtures.
 */
const domainPackages = '(logging|identity|notifications)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'shared-jobs-has-no-dependencies',
      comment: '@app/shared-jobs depends on nothing but Node.js built-ins (its testing kit may use vitest).',
      severity: 'error',
      from: { path: '^packages/shared-jobs/src/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-peer', 'npm-optional', 'npm-no-pkg', 'npm-unknown', 'aliased-workspace', 'local'], pathNot: ['^packages/shared-jobs/', 'node_modules/vitest/'] },
    },
    {
      name: 'shared-jobs-core-has-no-test-framework',
      comment: 'Only the testing subpath of @app/shared-jobs may import vitest.',
      severity: 'error',
      from: { path: '^packages/shared-jobs/src/', pathNot: '^packages/shared-jobs/src/testing/' },
      to: { path: 'node_modules/vitest/' },
    },
    {
      name: 'only-scheduler-agenda-imports-agenda',
      severity: 'error',
      from: { pathNot: '^packages/scheduler-agenda/' },
      to: { path: ['node_modules/agenda/', 'node_modules/@agendajs/', '^agenda$', '^@agendajs/'] },
    },
    {
      name: 'domains-do-not-import-each-other',
      severity: 'error',
      from: { path: `^packages/${domainPackages}/src/` },
      to: { path: `^packages/${domainPackages}/`, pathNot: '^packages/$1/' },
    },
    {
      name: 'domains-do-not-import-the-scheduler-or-the-worker',
      severity: 'error',
      from: { path: `^packages/${domainPackages}/src/` },
      to: { path: '^(packages/scheduler-agenda|apps)/' },
    },
    {
      name: 'scheduler-does-not-import-domains-or-the-worker',
      severity: 'error',
      from: { path: '^packages/scheduler-agenda/src/' },
      to: { path: `^(packages/${domainPackages}|apps)/` },
    },
    {
      name: 'packages-do-not-import-apps',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: '^apps/' },
    },
    {
      name: 'no-unresolvable-imports',
      comment: 'An import that does not resolve is a dependency missing from package.json.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-undeclared-dependencies',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|coverage|test|node_modules)/|\\.test\\.ts$|\\.config\\.(ts|js)$|(^|/)bench/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.d.ts'],
    },
    preserveSymlinks: false,
  },
};
