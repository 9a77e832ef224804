export {
  emailQueueSettingsSchema,
  minimumSendingLeaseSeconds,
  parseEmailQueueSettings,
  renamedEmailQueueSettings,
  parseSmtpSettings,
  smtpSettingsSchema,
  type EmailQueueSettings,
  type EmailQueueSettingsInput,
  type SmtpSettings,
  type SmtpSettingsInput,
} from './settings.js';
export { ValidationError, type FieldIssue } from './validation.js';
export {
  defaultMessageIdDomain,
  emailQueueCollectionName,
  emailStatuses,
  ensureNotificationIndexes,
  getEmailQueueModel,
  type EmailQueueEntry,
  type EmailStatus,
} from './models/email-queue.js';
export {
  countQueuedEmails,
  defaultQueueDepthCountLimit,
  queueDepth,
  type EmailQueueDepth,
} from './models/queue-depth.js';
export {
  emailLimits,
  emailMessageSchema,
  enqueueEmailInputSchema,
  findEmailMessageIssues,
  type EmailMessage,
  type EnqueueEmailInput,
} from './models/email-message.js';
export {
  findOldestPendingEmail,
  listEmailQueueEntries,
  requeueDeadEmail,
  type EmailQueueEntrySummary,
  type RequeueEmailResult,
} from './models/email-queue-admin.js';
export {
  enqueueEmail,
  type EnqueueEmailOptions,
  type EnqueueEmailResult,
} from './models/enqueue-email.js';
export {
  classifyEmailSendError,
  EmailSendError,
  type EmailFailureKind,
  type EmailSender,
  type OutgoingEmail,
  type SentEmail,
} from './sender/email-sender.js';
export { createSmtpEmailSender, smtpSendTimeoutMs, type SmtpEmailSender } from './sender/smtp-email-sender.js';
export {
  createEmailQueueProcessJob,
  deliveryBackoffPolicy,
  emailQueueIdHeader,
  emailQueueProcessDefaults,
  emailQueueProcessJobModule,
  emailQueueProcessJobName,
  emailQueueStallTimeoutMs,
  type EmailQueueJobServices,
  type EmailQueueProcessJobOptions,
  type EmailQueueProcessResult,
} from './jobs/email-queue-process-job.js';

import { emailQueueProcessJobModule } from './jobs/email-queue-process-job.js';

/** The recurring jobs of this package, for the worker's list of modules. */
export const notificationJobModules = [emailQueueProcessJobModule] as const;
