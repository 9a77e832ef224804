/** A loopback SMTP server that accepts every message and keeps it (demo and tests). */
import { SMTPServer } from 'smtp-server';

export interface ReceivedEmail {
  readonly from: string | null;
  readonly to: readonly string[];
  readonly raw: string;
  /** `Date.now()` when the end of DATA arrived. */
  readonly receivedAt: number;
  /** The value of a header of the message, or undefined. */
  header(name: string): string | undefined;
}

export interface SmtpSinkOptions {
  readonly port?: number;
  /**
   * Never answer the end of DATA: the message has arrived, but the client's send stays in
   * flight (until its own timeout, or its death). Tests of a worker dying mid-send use it.
   */
  readonly withholdReplies?: boolean;
}

export interface SmtpSink {
  readonly port: number;
  readonly received: ReceivedEmail[];
  close(): Promise<void>;
}

function headerOf(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/u, 1)[0] ?? '';
  return new RegExp(`^${name}:\\s*(\\S+)`, 'imu').exec(head)?.[1];
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const received: ReceivedEmail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    // A killed client's connection is gone by then: closing does not wait 30 s for it.
    closeTimeout: 1000,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const mailFrom = session.envelope.mailFrom;
        const raw = Buffer.concat(chunks).toString('utf8');
        received.push({
          from: mailFrom === false ? null : mailFrom.address,
          to: session.envelope.rcptTo.map((recipient) => recipient.address),
          raw,
          receivedAt: Date.now(),
          header: (name) => headerOf(raw, name),
        });
        if (options.withholdReplies !== true) callback();
      });
    },
  });
  // A client killed in the middle of a transaction resets its connection: not the sink's failure.
  server.on('error', () => undefined);
  await new Promise<void>((resolveListen, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolveListen());
  });
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('smtp sink: no port');
  return {
    port: address.port,
    received,
    close: () => new Promise<void>((resolveClose) => server.close(() => resolveClose())),
  };
}
