import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSmtpEmailSender, EmailSendError, parseSmtpSettings, type SmtpEmailSender } from '../src/index.js';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sinkAndSender(
  sinkOptions: Parameters<typeof startSmtpSink>[0] = {},
  settings: Record<string, unknown> = {},
): Promise<{ sink: SmtpSink; sender: SmtpEmailSender }> {
  const sink = await startSmtpSink(sinkOptions);
  cleanups.push(() => sink.close());
  const sender = createSmtpEmailSender(
    parseSmtpSettings({ host: '127.0.0.1', port: sink.port, from: 'app@example.org', ...settings }),
  );
  cleanups.push(() => sender.close());
  return { sink, sender };
}

async function sendError(promise: Promise<unknown>): Promise<EmailSendError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(EmailSendError);
    return error as EmailSendError;
  }
  throw new Error('expected the send to fail');
}

describe('createSmtpEmailSender', () => {
  it('delivers recipients, subject, bodies, headers and the Message-ID', async () => {
    const { sink, sender } = await sinkAndSender();
    const sent = await sender.send({
      to: ['alice@example.org'],
      cc: ['carol@example.org'],
      bcc: ['dave@example.org'],
      subject: 'Quarterly report',
      text: 'See attached numbers',
      html: '<p>See <b>numbers</b></p>',
      messageId: '<fixed-id@example.org>',
      headers: { 'X-Custom': 'yes' },
    });
    expect(sent.messageId).toBe('<fixed-id@example.org>');
    expect(sent.response).toMatch(/^250/u);
    await sink.waitForMessages(1);
    const [message] = sink.messages;
    expect(message?.from?.text).toBe('app@example.org');
    expect(message?.to).toMatchObject({ text: 'alice@example.org' });
    expect(message?.cc).toMatchObject({ text: 'carol@example.org' });
    expect(message?.bcc).toBeUndefined();
    expect(message?.subject).toBe('Quarterly report');
    expect(message?.text).toBe('See attached numbers');
    expect(message?.html).toBe('<p>See <b>numbers</b></p>');
    expect(message?.messageId).toBe('<fixed-id@example.org>');
    expect(message?.headers.get('x-custom')).toBe('yes');
  });

  it('uses the email own from, and generates a Message-ID when none is given', async () => {
    const { sink, sender } = await sinkAndSender();
    const sent = await sender.send({ to: ['bob@example.org'], from: 'billing@example.org', subject: 'Hi', html: '<i>x</i>' });
    expect(sent.messageId).toMatch(/^<.+@.+>$/u);
    await sink.waitForMessages(1);
    expect(sink.messages[0]?.from?.text).toBe('billing@example.org');
    expect(String(sink.messages[0]?.html).trim()).toBe('<i>x</i>');
  });

  it('a 550 recipient rejection is permanent', async () => {
    const { sink, sender } = await sinkAndSender({
      onRecipient: () => ({ responseCode: 550, message: 'No such user here' }),
    });
    const error = await sendError(sender.send({ to: ['ghost@example.org'], subject: 'x', text: 'x' }));
    expect(error.kind).toBe('permanent');
    expect(error.responseCode).toBe(550);
    expect(error.message).toContain('No such user here');
    expect(sink.dataCommands()).toBe(0);
  });

  it('a 421 reply to DATA is transient', async () => {
    const { sender } = await sinkAndSender({
      onMessage: () => ({ responseCode: 421, message: 'Try again later' }),
    });
    const error = await sendError(sender.send({ to: ['a@example.org'], subject: 'x', text: 'x' }));
    expect(error.kind).toBe('transient');
    expect(error.responseCode).toBe(421);
  });

  it('a refused connection is transient', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    const sender = createSmtpEmailSender(
      parseSmtpSettings({ host: '127.0.0.1', port, from: 'app@example.org', connectionTimeoutMs: 2000 }),
    );
    cleanups.push(() => sender.close());
    const error = await sendError(sender.send({ to: ['a@example.org'], subject: 'x', text: 'x' }));
    expect(error.kind).toBe('transient');
    expect(error.code).toBe('ESOCKET');
  });

  it('authenticates, and never puts the password in an error', async () => {
    const password = 'Corr3ct-Horse-Battery';
    const { sink, sender } = await sinkAndSender(
      { auth: { user: 'mailer', password } },
      { user: 'mailer', password },
    );
    await sender.send({ to: ['a@example.org'], subject: 'authenticated', text: 'x' });
    await sink.waitForMessages(1);
    expect(sink.messages[0]?.subject).toBe('authenticated');

    const wrong = createSmtpEmailSender(
      parseSmtpSettings({ host: '127.0.0.1', port: sink.port, from: 'app@example.org', user: 'mailer', password: 'Wr0ng-Secret-Value' }),
    );
    cleanups.push(() => wrong.close());
    const error = await sendError(wrong.send({ to: ['a@example.org'], subject: 'x', text: 'x' }));
    expect(error.message).toContain('bad credentials ***');
    expect(error.message).not.toContain('Wr0ng-Secret-Value');
    expect(JSON.stringify(error)).not.toContain('Wr0ng-Secret-Value');
    expect(error.kind).toBe('transient');
    expect(error.code).toBe('EAUTH');
    expect(error.responseCode).toBe(535);
  });

  it('fails sends after close', async () => {
    const { sender } = await sinkAndSender();
    sender.close();
    const error = await sendError(sender.send({ to: ['a@example.org'], subject: 'x', text: 'x' }));
    expect(error.kind).toBe('transient');
  });
});
