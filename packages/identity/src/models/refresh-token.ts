import { Schema, type Connection, type Model, type Types } from 'mongoose';

/** A stored refresh token (collection `refresh_tokens`); only its hash is kept. */
export interface RefreshToken {
  _id: Types.ObjectId;
  userId: Types.ObjectId;
  /** Hash of the token (e.g. SHA-256, hex); unique. */
  tokenHash: string;
  expiresAt: Date;
  createdAt: Date;
  createdByIp: string | null;
  revokedAt: Date | null;
  /** Hash of the token that replaced this one on rotation. */
  replacedByTokenHash: string | null;
}

export type RefreshTokenModel = Model<RefreshToken>;

export const refreshTokenModelName = 'RefreshToken';
export const refreshTokenCollectionName = 'refresh_tokens';

/**
 * `expiresAt` has a plain index (the cleanup job's range query), NOT a TTL index:
 * FerretDB v1 rejects `expireAfterSeconds`, and RefreshTokenCleanupJob prunes in code.
 */
export const refreshTokenSchema = new Schema<RefreshToken, RefreshTokenModel>(
  {
    userId: { type: Schema.Types.ObjectId, required: true, ref: 'User' },
    tokenHash: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    createdByIp: { type: String, default: null },
    revokedAt: { type: Date, default: null },
    replacedByTokenHash: { type: String, default: null },
  },
  {
    collection: refreshTokenCollectionName,
    timestamps: { createdAt: true, updatedAt: false },
    autoIndex: false,
    autoCreate: false,
    strict: true,
  },
);

refreshTokenSchema.index({ tokenHash: 1 }, { unique: true, name: 'tokenHash_unique' });
refreshTokenSchema.index({ expiresAt: 1 }, { name: 'expiresAt' });
refreshTokenSchema.index({ userId: 1 }, { name: 'userId' });

/** The RefreshToken model bound to `connection` (registered once per connection). */
export function getRefreshTokenModel(connection: Connection): RefreshTokenModel {
  const existing = connection.models[refreshTokenModelName] as RefreshTokenModel | undefined;
  return (
    existing ??
    connection.model<RefreshToken, RefreshTokenModel>(refreshTokenModelName, refreshTokenSchema)
  );
}
