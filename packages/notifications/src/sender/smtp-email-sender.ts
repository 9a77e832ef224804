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
  /** {@link smtpSendTimeoutMs} of its settings. */
  readonly sendTimeoutMs: number;
  /** Closes the pooled connections; sends after it fail. */
  close(): void;
}

/** nodemailer's timeouts of the adapter, all from `connectionTimeoutMs`. */
export interface SmtpTimeouts {
  /** TCP (and TLS) connection established. */
  readonly connectionTimeoutMs: number;
  /** The server's greeting after connecting. */
  readonly greetingTimeoutMs: number;
  /** Inactivity of an open connection: each reply of the server must come within it. */
  readonly socketTimeoutMs: number;
}

/** The timeouts the adapter gives nodemailer for these settings. */
export function smtpTimeouts(settings: Pick<SmtpSettings, 'connectionTimeoutMs'>): SmtpTimeouts {
  return {
    connectionTimeoutMs: settings.connectionTimeoutMs,
    greetingTimeoutMs: settings.connectionTimeoutMs,
    socketTimeoutMs: Math.max(settings.connectionTimeoutMs, 60_000),
  };
}

/**
 * The longest one send waits on a silent server before nodemailer fails it: connection +
 * greeting + socket timeout (80 s with the default `connectionTimeoutMs` of 10 s). The email
 * queue job derives its stall timeout from it.
 */
export function smtpSendTimeoutMs(settings: Pick<SmtpSettings, 'connectionTimeoutMs'>): number {
  const timeouts = smtpTimeouts(settings);
  return timeouts.connectionTimeoutMs + timeouts.greetingTimeoutMs + timeouts.socketTimeoutMs;
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
  const timeouts = smtpTimeouts(settings);
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
    connectionTimeout: timeouts.connectionTimeoutMs,
    greetingTimeout: timeouts.greetingTimeoutMs,
    socketTimeout: timeouts.socketTimeoutMs,
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
    sendTimeoutMs: smtpSendTimeoutMs(settings),
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
