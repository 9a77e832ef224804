/** A real SMTP server on loopback (smtp-server) that parses what it receives (mailparser). */
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

export interface SmtpReply {
  readonly responseCode: number;
  readonly message: string;
}

export interface SmtpSinkOptions {
  /** Called for each DATA (0-based count of DATA commands so far); a reply rejects it. */
  readonly onMessage?: (dataIndex: number) => SmtpReply | null;
  /**
   * Called for each accepted DATA (0-based count of DATA commands so far), after the message
   * was recorded: a promise holds the server's reply until it settles (a slow server, or a
   * client that dies before it reads the reply).
   */
  readonly holdReply?: (dataIndex: number) => Promise<void> | null;
  /** Called for each RCPT TO; a reply rejects the address. */
  readonly onRecipient?: (address: string) => SmtpReply | null;
  /** When set, AUTH is required and checked against these credentials. */
  readonly auth?: { readonly user: string; readonly password: string };
  /** Parse messages with mailparser (off in the benchmark: only headers are counted). */
  readonly parse?: boolean;
}

export interface SmtpSink {
  readonly port: number;
  /** Parsed accepted messages, in order of acceptance. */
  readonly messages: ParsedMail[];
  /** Raw header block of every accepted message. */
  readonly rawHeaders: string[];
  /** How many DATA commands arrived (accepted or not). */
  dataCommands(): number;
  /** Resolves once `count` messages were accepted. */
  waitForMessages(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function replyError(reply: SmtpReply): Error {
  return Object.assign(new Error(reply.message), { responseCode: reply.responseCode });
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ParsedMail[] = [];
  const rawHeaders: string[] = [];
  const parsing: Promise<void>[] = [];
  let dataCount = 0;
  const server = new SMTPServer({
    secure: false,
    disabledCommands: options.auth === undefined ? ['AUTH', 'STARTTLS'] : ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: options.auth === undefined,
    logger: false,
    size: 10 * 1024 * 1024,
    onAuth(auth, _session, callback) {
      const expected = options.auth;
      if (expected !== undefined && auth.username === expected.user && auth.password === expected.password) {
        callback(null, { user: auth.username });
        return;
      }
      // A careless server could echo what it got; the client must not pass it on.
      callback(Object.assign(new Error(`bad credentials ${auth.password ?? ''}`), { responseCode: 535 }));
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      const reply = options.onRecipient?.(address.address) ?? null;
      callback(reply === null ? null : replyError(reply));
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const index = dataCount;
        dataCount += 1;
        const reply = options.onMessage?.(index) ?? null;
        if (reply !== null) {
          callback(replyError(reply));
          return;
        }
        const raw = Buffer.concat(chunks);
        const text = raw.toString('utf8');
        const headerEnd = text.indexOf('\r\n\r\n');
        rawHeaders.push(headerEnd === -1 ? text : text.slice(0, headerEnd));
        if (options.parse !== false) {
          parsing.push(
            simpleParser(raw).then((parsed) => {
              messages.push(parsed);
            }),
          );
        }
        const held = options.holdReply?.(index) ?? null;
        if (held === null) callback(null);
        else void held.then(() => callback(null));
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    messages,
    rawHeaders,
    dataCommands: () => dataCount,
    async waitForMessages(count: number, timeoutMs = 5000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (rawHeaders.length < count && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await Promise.all(parsing);
    },
    async close(): Promise<void> {
      await Promise.all(parsing);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Values of one header over every accepted message (case-insensitive name). */
export function headerValues(sink: SmtpSink, name: string): string[] {
  const pattern = new RegExp(`^${name}:\\s*(.*)$`, 'imu');
  return sink.rawHeaders.map((headers) => pattern.exec(headers)?.[1]?.trim() ?? '');
}
