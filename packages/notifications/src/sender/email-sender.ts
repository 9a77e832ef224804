/** The port through which the queue sends email, and the classification of its failures. */

export interface OutgoingEmail {
  readonly to: readonly string[];
  readonly cc?: readonly string[];
  readonly bcc?: readonly string[];
  /** Defaults to the sender's configured address. */
  readonly from?: string;
  readonly subject: string;
  readonly text?: string;
  readonly html?: string;
  /** The Message-ID header, `<left@right>`; the sender generates one when absent. */
  readonly messageId?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface SentEmail {
  /** The Message-ID of the delivered message. */
  readonly messageId: string;
  /** The server's final reply, when the transport reports it. */
  readonly response?: string;
}

export interface EmailSender {
  /**
   * The longest one send waits on a silent server before it fails (the SMTP adapter's
   * connection + greeting + socket timeouts). The email queue job's stall timeout is twice it;
   * absent, the SMTP adapter's default (80 s) is assumed.
   */
  readonly sendTimeoutMs?: number;
  /** Resolves once the server accepted the message; rejects otherwise (see {@link classifyEmailSendError}). */
  send(message: OutgoingEmail): Promise<SentEmail>;
}

/** `transient`: the same message may go through later. `permanent`: it never will. */
export type EmailFailureKind = 'transient' | 'permanent';

/** A send failure with its classification; its message never holds credentials. */
export class EmailSendError extends Error {
  override readonly name: string = 'EmailSendError';
  readonly kind: EmailFailureKind;
  /** Transport error code, e.g. `ECONNECTION`, `EENVELOPE`. */
  readonly code: string | undefined;
  /** SMTP reply code, e.g. 421, 550. */
  readonly responseCode: number | undefined;

  constructor(
    message: string,
    details: { kind: EmailFailureKind; code?: string | undefined; responseCode?: number | undefined },
  ) {
    super(message);
    this.kind = details.kind;
    this.code = details.code;
    this.responseCode = details.responseCode;
  }
}

/** Failures of the server, the network or the configuration, not of the message: retry. */
const transientCodes = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ETLS',
  'EREQUIRETLS',
  'EPROTOCOL',
  'EMAXLIMIT',
  'EPROXY',
  'ECONFIG',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Authentication failures: the sender's configuration is wrong, not the message. Transient
 * whatever the reply (535 included), so a bad password does not kill the whole queue.
 */
const authenticationCodes = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2']);

/** Failures of the message itself: retrying sends the same bad message. */
const permanentCodes = new Set(['EENVELOPE', 'EMESSAGE', 'EMAXRECIPIENTS', 'EFILEACCESS', 'EURLACCESS']);

function readProperty(error: unknown, key: string): unknown {
  return typeof error === 'object' && error !== null && key in error
    ? (error as Record<string, unknown>)[key]
    : undefined;
}

/**
 * Whether a send failure is worth retrying.
 *
 * 1. An {@link EmailSendError} keeps its `kind`.
 * 2. Authentication failures (`EAUTH`, `ENOAUTH`, `EOAUTH2`) are transient, even with a
 *    5xx reply such as 535: the configuration is wrong, not the message.
 * 3. An SMTP reply code decides when present (RFC 5321): 4xx transient, 5xx permanent
 *    (550 mailbox unavailable, 553 bad address, 554 rejected) — except 503 "bad sequence
 *    of commands", a session state problem that a new connection clears.
 * 4. Then the transport code: connection, timeout, TLS and DNS failures are transient;
 *    envelope/message errors such as a rejected address are permanent.
 * 5. Anything else is transient: the attempt limit still bounds it.
 */
export function classifyEmailSendError(error: unknown): EmailFailureKind {
  if (error instanceof EmailSendError) return error.kind;
  const code = readProperty(error, 'code');
  if (typeof code === 'string' && authenticationCodes.has(code)) return 'transient';
  const responseCode = readProperty(error, 'responseCode');
  if (typeof responseCode === 'number' && responseCode >= 400 && responseCode < 600) {
    if (responseCode >= 500 && responseCode !== 503) return 'permanent';
    return 'transient';
  }
  if (typeof code === 'string') {
    if (permanentCodes.has(code)) return 'permanent';
    if (transientCodes.has(code)) return 'transient';
  }
  return 'transient';
}
