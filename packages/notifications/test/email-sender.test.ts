import { describe, expect, it } from 'vitest';
import { classifyEmailSendError, computeRetryDelayMs, EmailSendError } from '../src/index.js';
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

describe('computeRetryDelayMs', () => {
  const policy = { initialDelayMs: 30_000, maxDelayMs: 3_600_000 };

  it('doubles per failed attempt, between half and all of the nominal delay', () => {
    expect(computeRetryDelayMs(1, policy, () => 0)).toBe(15_000);
    expect(computeRetryDelayMs(1, policy, () => 1)).toBe(30_000);
    expect(computeRetryDelayMs(2, policy, () => 1)).toBe(60_000);
    expect(computeRetryDelayMs(3, policy, () => 0.5)).toBe(90_000);
  });

  it('is capped at the maximum, even for huge attempt numbers', () => {
    expect(computeRetryDelayMs(20, policy, () => 1)).toBe(3_600_000);
    expect(computeRetryDelayMs(5000, policy, () => 0)).toBe(1_800_000);
  });

  it('treats attempt 0 like attempt 1 and stays in range with Math.random', () => {
    expect(computeRetryDelayMs(0, policy, () => 1)).toBe(30_000);
    for (let sample = 0; sample < 100; sample += 1) {
      const delay = computeRetryDelayMs(4, policy);
      expect(delay).toBeGreaterThanOrEqual(120_000);
      expect(delay).toBeLessThanOrEqual(240_000);
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
