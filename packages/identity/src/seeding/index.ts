export {
  seedAdminUser,
  type SeedAdminUserOptions,
  type SeedAdminUserResult,
} from './admin-seeder.js';
export {
  AdminSeederError,
  hashPassword,
  passwordHashOptions,
  resolveAdminPassword,
} from './password.js';
