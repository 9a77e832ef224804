import { describe, expect, it } from 'vitest';
import { exponentialBackoffMs } from '@app/shared-jobs';
import { classifyEmailSendError, deliveryBackoffPolicy, EmailSendError, parseEmailQueueSettings } from '../src/index.js';
import { redactSecret } from '../src/sender/smtp-email-sender.js';
import { formatIssuePath } from '../src/validation.js';

function smtpError(responseCode: number): Error {
  return Object.assign(new Error(`${responseCode} reply`), { code: 'EMESSAGE', responseCode });
}

describe('classifyEmailSendError', () => {
  it.each([421, 450, 451, 452, 503])('SMTP %i is transient', (responseCode) => {
    expect(classifyEmailSendError(smtpError(responseCode))).toBe('transient');
  });

  it.each([550, 551, 552, 553, 554])('SMTP %i is permanent', (responseCode) => {
    expect(classifyEmailSendError(smtpError(responseCode))).toBe('permanent');
  });

  it.each(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EAUTH', 'ECONNREFUSED'])(
    'code %s without a reply is transient',
    (code) => {
      expect(classifyEmailSendError(Object.assign(new Error(code), { code }))).toBe('transient');
    },
  );

  it.each(['EENVELOPE', 'EMESSAGE', 'EMAXRECIPIENTS'])('code %s without a reply is permanent', (code) => {
    expect(classifyEmailSendError(Object.assign(new Error(code), { code }))).toBe('permanent');
  });

  it('an SMTP reply code wins over the transport code', () => {
    const rejected = Object.assign(new Error('rejected'), { code: 'EENVELOPE', responseCode: 450 });
    expect(classifyEmailSendError(rejected)).toBe('transient');
  });

  it('authentication failures are transient even with a 5xx reply', () => {
    expect(classifyEmailSendError(Object.assign(new Error('535'), { code: 'EAUTH', responseCode: 535 }))).toBe(
      'transient',
    );
    expect(classifyEmailSendError(Object.assign(new Error('no auth'), { code: 'ENOAUTH' }))).toBe('transient');
  });

  it('keeps the kind of an EmailSendError', () => {
    expect(classifyEmailSendError(new EmailSendError('x', { kind: 'permanent' }))).toBe('permanent');
    expect(classifyEmailSendError(new EmailSendError('x', { kind: 'transient', responseCode: 550 }))).toBe(
      'transient',
    );
  });

  it('treats unknown failures as transient', () => {
    expect(classifyEmailSendError(new Error('surprise'))).toBe('transient');
    expect(classifyEmailSendError('a string')).toBe('transient');
    expect(classifyEmailSendError(null)).toBe('transient');
    expect(classifyEmailSendError(Object.assign(new Error('odd'), { code: 'EWHATEVER', responseCode: 250 }))).toBe(
      'transient',
    );
  });
});

describe('delivery backoff (exponentialBackoffMs of @app/shared-jobs)', () => {
  const policy = deliveryBackoffPolicy(parseEmailQueueSettings({}));

  it('comes from the settings: 30 s initial, 1 h maximum by default', () => {
    expect(policy).toEqual({ initialDelayMs: 30_000, maxDelayMs: 3_600_000 });
    expect(
      deliveryBackoffPolicy(parseEmailQueueSettings({ deliveryBackoffInitialSeconds: 5, deliveryBackoffMaxSeconds: 60 })),
    ).toEqual({ initialDelayMs: 5000, maxDelayMs: 60_000 });
  });

  it('doubles per failed delivery attempt with ±20 % jitter', () => {
    expect(exponentialBackoffMs(policy, 1, () => 0)).toBe(24_000);
    expect(exponentialBackoffMs(policy, 1, () => 0.5)).toBe(30_000);
    expect(exponentialBackoffMs(policy, 1, () => 1)).toBe(36_000);
    expect(exponentialBackoffMs(policy, 2, () => 0.5)).toBe(60_000);
    expect(exponentialBackoffMs(policy, 3, () => 0.5)).toBe(120_000);
  });

  it('never exceeds the maximum, jitter included, even for huge attempt numbers', () => {
    expect(exponentialBackoffMs(policy, 8, () => 1)).toBe(3_600_000);
    expect(exponentialBackoffMs(policy, 5000, () => 0)).toBe(2_880_000);
    for (let sample = 0; sample < 100; sample += 1) {
      const delay = exponentialBackoffMs(policy, 4);
      expect(delay).toBeGreaterThanOrEqual(192_000);
      expect(delay).toBeLessThanOrEqual(288_000);
    }
  });
});

describe('redactSecret and issue paths', () => {
  it('replaces every occurrence of every secret', () => {
    expect(redactSecret('pw=hunter2, again hunter2, b64 aHVudGVyMg==', ['hunter2', 'aHVudGVyMg==', ''])).toBe(
      'pw=***, again ***, b64 ***',
    );
  });

  it('formats paths like source code', () => {
    expect(formatIssuePath(['to', 1])).toBe('to[1]');
    expect(formatIssuePath(['smtp', 'port'])).toBe('smtp.port');
    expect(formatIssuePath([])).toBe('(root)');
  });
});
