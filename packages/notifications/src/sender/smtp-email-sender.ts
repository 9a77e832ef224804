/** The nodemailer SMTP adapter of {@link EmailSender}: pooled connections, TLS options, auth. */
import { createTransport, type NodemailerError } from 'nodemailer';
import type { SMTPPoolOptions } from 'nodemailer/lib/smtp-pool';
import type { SmtpSettings } from '../settings.js';
import {
  classifyEmailSendError,
  EmailSendError,
  type EmailSender,
  type OutgoingEmail,
  type SentEmail,
} from './email-sender.js';

export interface SmtpEmailSender extends EmailSender {
  /** Closes the pooled connections; sends after it fail. */
  close(): void;
}

/** Removes every form of the secret a transport could echo: plain, and base64 as in AUTH PLAIN/LOGIN. */
export function redactSecret(text: string, secrets: readonly string[]): string {
  let redacted = text;
  for (const secret of secrets) {
    if (secret === '') continue;
    redacted = redacted.split(secret).join('***');
  }
  return redacted;
}

/**
 * An {@link EmailSender} over SMTP with a pool of `maxConnections` connections.
 *
 * - `secure`: TLS from the first byte; otherwise STARTTLS when offered, and mandatory when
 *   `requireTls`; `rejectUnauthorized` verifies the certificate.
 * - nodemailer's logger is off (its debug output would carry the AUTH exchange), file and
 *   URL access from message content is disabled.
 * - Failures reject with an {@link EmailSendError} classified by
 *   {@link classifyEmailSendError}, whose message never holds the password (nor its
 *   base64 form).
 */
export function createSmtpEmailSender(settings: SmtpSettings): SmtpEmailSender {
  const credentials =
    settings.user !== undefined && settings.password !== undefined
      ? { user: settings.user, pass: settings.password }
      : undefined;
  const poolOptions: SMTPPoolOptions = {
    pool: true,
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    requireTLS: settings.requireTls,
    tls: { rejectUnauthorized: settings.rejectUnauthorized },
    ...(credentials === undefined ? {} : { auth: credentials }),
    maxConnections: settings.maxConnections,
    maxMessages: Number.POSITIVE_INFINITY,
    connectionTimeout: settings.connectionTimeoutMs,
    greetingTimeout: settings.connectionTimeoutMs,
    socketTimeout: Math.max(settings.connectionTimeoutMs, 60_000),
    logger: false,
    debug: false,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
  const transport = createTransport({ ...poolOptions, pool: true });
  const secrets =
    credentials === undefined
      ? []
      : [
          credentials.pass,
          Buffer.from(credentials.pass).toString('base64'),
          Buffer.from(`\u0000${credentials.user}\u0000${credentials.pass}`).toString('base64'),
        ];

  return {
    async send(message: OutgoingEmail): Promise<SentEmail> {
      try {
        const info = await transport.sendMail({
          from: message.from ?? settings.from,
          to: [...message.to],
          ...(message.cc === undefined ? {} : { cc: [...message.cc] }),
          ...(message.bcc === undefined ? {} : { bcc: [...message.bcc] }),
          subject: message.subject,
          ...(message.text === undefined ? {} : { text: message.text }),
          ...(message.html === undefined ? {} : { html: message.html }),
          ...(message.messageId === undefined ? {} : { messageId: message.messageId }),
          ...(message.headers === undefined ? {} : { headers: { ...message.headers } }),
        });
        return { messageId: info.messageId, response: info.response };
      } catch (error) {
        // nodemailer rejects with an Error carrying `code` and, after an SMTP reply, `responseCode`.
        const failure: NodemailerError = error instanceof Error ? error : new Error(String(error));
        throw new EmailSendError(redactSecret(failure.message, secrets), {
          kind: classifyEmailSendError(failure),
          code: failure.code,
          responseCode: failure.responseCode,
        });
      }
    },
    close(): void {
      transport.close();
    },
  };
}
