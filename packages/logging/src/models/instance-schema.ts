import { Schema } from 'mongoose';

/** Which process did something, as stored. */
export interface InstanceDocument {
  hostName: string;
  processId: number;
}

export const instanceSchema = new Schema<InstanceDocument>(
  {
    hostName: { type: String, required: true },
    processId: { type: Number, required: true },
  },
  { _id: false, versionKey: false },
);
