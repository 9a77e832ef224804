export * from './jobs/index.js';
export * from './models/index.js';
export * from './seeding/index.js';
export {
  adminSeederSettingsSchema,
  ipAnonymizationSettingsSchema,
  parseAdminSeederSettings,
  parseIpAnonymizationSettings,
  parseRefreshTokenCleanupSettings,
  redactAdminSeederSettings,
  refreshTokenCleanupSettingsSchema,
  SettingsValidationError,
  type AdminSeederSettings,
  type AdminSeederSettingsInput,
  type IpAnonymizationSettings,
  type IpAnonymizationSettingsInput,
  type RefreshTokenCleanupSettings,
  type RefreshTokenCleanupSettingsInput,
  type SettingsIssue,
} from './settings.js';
