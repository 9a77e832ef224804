export { ensureIdentityIndexes } from './indexes.js';
export {
  getRefreshTokenModel,
  refreshTokenCollectionName,
  refreshTokenModelName,
  refreshTokenSchema,
  type RefreshToken,
  type RefreshTokenModel,
} from './refresh-token.js';
export {
  getUserModel,
  userCollectionName,
  userModelName,
  userSchema,
  type User,
  type UserModel,
} from './user.js';
