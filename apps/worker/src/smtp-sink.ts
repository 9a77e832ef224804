/** A loopback SMTP server that accepts every message and keeps it (demo and tests). */
import { SMTPServer } from 'smtp-server';

export interface ReceivedEmail {
  readonly from: string | null;
  readonly to: readonly string[];
  readonly raw: string;
}

export interface SmtpSink {
  readonly port: number;
  readonly received: ReceivedEmail[];
  close(): Promise<void>;
}

export async function startSmtpSink(port = 0): Promise<SmtpSink> {
  const received: ReceivedEmail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const mailFrom = session.envelope.mailFrom;
        received.push({
          from: mailFrom === false ? null : mailFrom.address,
          to: session.envelope.rcptTo.map((recipient) => recipient.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolveListen());
  });
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('smtp sink: no port');
  return {
    port: address.port,
    received,
    close: () => new Promise<void>((resolveClose) => server.close(() => resolveClose())),
  };
}
