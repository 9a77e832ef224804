import { Schema, type Connection, type Model, type Types } from 'mongoose';

/** A stored user (collection `users`). */
export interface User {
  _id: Types.ObjectId;
  /** Unique, stored lower-cased and trimmed. */
  email: string;
  userName: string;
  /** argon2id PHC string; never the password. */
  passwordHash: string;
  roles: string[];
  isActive: boolean;
  lastLoginAt: Date | null;
  /** Cleared (null) by IpAnonymizationJob once the last login is old enough. */
  lastLoginIp: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type UserModel = Model<User>;

export const userModelName = 'User';
export const userCollectionName = 'users';

/**
 * Indexes are declared here but created only by `ensureIdentityIndexes` (autoIndex off):
 * the worker owns start-up order. No TTL index anywhere (FerretDB v1 rejects them).
 */
export const userSchema = new Schema<User, UserModel>(
  {
    email: { type: String, required: true, lowercase: true, trim: true },
    userName: { type: String, required: true, trim: true },
    passwordHash: { type: String, required: true },
    roles: { type: [String], default: [] },
    isActive: { type: Boolean, default: true },
    lastLoginAt: { type: Date, default: null },
    lastLoginIp: { type: String, default: null },
  },
  {
    collection: userCollectionName,
    timestamps: true,
    autoIndex: false,
    autoCreate: false,
    strict: true,
  },
);

userSchema.index({ email: 1 }, { unique: true, name: 'email_unique' });
// IpAnonymizationJob walks this index in keyset pages: `_id` breaks ties of equal logins in order.
userSchema.index({ lastLoginAt: 1, _id: 1 }, { name: 'lastLoginAt_id' });

/** Index names of earlier releases that `ensureIdentityIndexes` drops (replaced above). */
export const legacyUserIndexNames = ['lastLoginAt'] as const;

/** The User model bound to `connection` (registered once per connection). */
export function getUserModel(connection: Connection): UserModel {
  const existing = connection.models[userModelName] as UserModel | undefined;
  return existing ?? connection.model<User, UserModel>(userModelName, userSchema);
}
