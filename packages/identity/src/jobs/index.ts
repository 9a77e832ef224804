export { daysBefore } from './batch-loop.js';
export {
  createIpAnonymizationJob,
  ipAnonymizationJobName,
  type IpAnonymizationJobOptions,
  type IpAnonymizationResult,
} from './ip-anonymization-job.js';
export {
  createRefreshTokenCleanupJob,
  refreshTokenCleanupJobName,
  type RefreshTokenCleanupJobOptions,
  type RefreshTokenCleanupResult,
} from './refresh-token-cleanup-job.js';
