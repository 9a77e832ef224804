/**
 * What an email is made of, validated the same way when it is enqueued and again
 * before it is sent (a document written by other means can be invalid).
 */
import { z } from 'zod';
import { toFieldIssues, type FieldIssue } from '../validation.js';

/** Limits enforced on every email. */
export const emailLimits = {
  /** to + cc + bcc. */
  maxRecipients: 50,
  maxSubjectLength: 998,
  /** Per body (text, html), in UTF-16 code units. */
  maxBodyLength: 1_000_000,
  maxIdempotencyKeyLength: 200,
} as const;

const address = z.email({ error: 'invalid email address' });
const addressList = z.array(address, { error: 'must be a list of email addresses' });
const body = z
  .string({ error: 'must be a string' })
  .max(emailLimits.maxBodyLength, {
    error: `must be at most ${emailLimits.maxBodyLength} characters`,
  });

const emailMessageFields = z.object({
    to: addressList.min(1, { error: 'must have at least one recipient' }),
    cc: addressList.optional(),
    bcc: addressList.optional(),
    from: address.optional(),
    subject: z
      .string({ error: 'must be a string' })
      .trim()
      .min(1, { error: 'must not be empty' })
      .max(emailLimits.maxSubjectLength, {
        error: `must be at most ${emailLimits.maxSubjectLength} characters`,
      })
      .refine((subject) => !/[\r\n]/u.test(subject), { error: 'must not contain line breaks' }),
    text: body.optional(),
    html: body.optional(),
  });

function checkBodyAndRecipients(
  message: z.output<typeof emailMessageFields>,
  context: z.RefinementCtx,
): void {
    if (message.text === undefined && message.html === undefined) {
      context.addIssue({ code: 'custom', path: ['text'], message: 'text or html is required' });
    }
    const recipients = message.to.length + (message.cc?.length ?? 0) + (message.bcc?.length ?? 0);
    if (recipients > emailLimits.maxRecipients) {
      context.addIssue({
        code: 'custom',
        path: ['to'],
        message: `at most ${emailLimits.maxRecipients} recipients (to + cc + bcc), got ${recipients}`,
      });
    }
}

export const emailMessageSchema = emailMessageFields.superRefine(checkBodyAndRecipients);

export type EmailMessage = z.output<typeof emailMessageSchema>;

export const enqueueEmailInputSchema = emailMessageFields
  .extend({
    idempotencyKey: z
      .string({ error: 'must be a string' })
      .min(1, { error: 'must not be empty' })
      .max(emailLimits.maxIdempotencyKeyLength, {
        error: `must be at most ${emailLimits.maxIdempotencyKeyLength} characters`,
      })
      .optional(),
    /** Not before this instant (default: now). */
    sendAfter: z.date({ error: 'must be a valid Date' }).optional(),
  })
  .superRefine(checkBodyAndRecipients);

export type EnqueueEmailInput = z.input<typeof enqueueEmailInputSchema>;

/** Checks a message; the issues name each bad field, or an empty list when it is valid. */
export function findEmailMessageIssues(
  message: unknown,
): { message: EmailMessage; issues: [] } | { message: null; issues: FieldIssue[] } {
  const result = emailMessageSchema.safeParse(message);
  return result.success
    ? { message: result.data, issues: [] }
    : { message: null, issues: toFieldIssues(result.error) };
}
