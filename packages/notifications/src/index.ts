export {
  emailQueueSettingsSchema,
  parseEmailQueueSettings,
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
  emailSendClaimsCollectionName,
  emailStatuses,
  ensureNotificationIndexes,
  getEmailQueueModel,
  getEmailSendClaimModel,
  type EmailQueueEntry,
  type EmailSendClaim,
  type EmailStatus,
} from './models/email-queue.js';
export {
  emailLimits,
  emailMessageSchema,
  enqueueEmailInputSchema,
  findEmailMessageIssues,
  type EmailMessage,
  type EnqueueEmailInput,
} from './models/email-message.js';
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
export { createSmtpEmailSender, type SmtpEmailSender } from './sender/smtp-email-sender.js';
export { computeRetryDelayMs } from './jobs/retry-delay.js';
export {
  countQueuedEmails,
  createEmailQueueProcessJob,
  emailQueueIdHeader,
  emailQueueProcessJobName,
  sendClaimRetentionMs,
  sentMarkGroupSize,
  type EmailQueueProcessJobOptions,
  type EmailQueueProcessResult,
} from './jobs/email-queue-process-job.js';
