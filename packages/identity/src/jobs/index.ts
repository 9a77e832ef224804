export { daysBefore } from './batch-loop.js';
export {
  createIpAnonymizationJob,
  ipAnonymizationDefaults,
  ipAnonymizationJobModule,
  ipAnonymizationJobName,
  type IpAnonymizationJobOptions,
  type IpAnonymizationResult,
} from './ip-anonymization-job.js';
export type { JobTimingOptions } from './module-timing.js';
export {
  createRefreshTokenCleanupJob,
  refreshTokenCleanupDefaults,
  refreshTokenCleanupJobModule,
  refreshTokenCleanupJobName,
  type IdentityJobServices,
  type RefreshTokenCleanupJobOptions,
  type RefreshTokenCleanupResult,
} from './refresh-token-cleanup-job.js';

import { ipAnonymizationJobModule } from './ip-anonymization-job.js';
import { refreshTokenCleanupJobModule } from './refresh-token-cleanup-job.js';

/** The recurring jobs of this package, for the worker's list of modules. */
export const identityJobModules = [refreshTokenCleanupJobModule, ipAnonymizationJobModule] as const;
