import { describe, expect, it } from 'vitest';
import {
  emailQueueSettingsSchema,
  parseEmailQueueSettings,
  parseSmtpSettings,
  smtpSettingsSchema,
  ValidationError,
} from '../src/index.js';

describe('parseEmailQueueSettings', () => {
  it('fills every default', () => {
    // No interval: the schedule's default is the job module's (the worker resolves the alias).
    expect(parseEmailQueueSettings({})).toEqual({
      enabled: true,
      batchSize: 100,
      concurrency: 5,
      maxEmailsPerRun: 10_000,
      maxDeliveryAttempts: 5,
      deliveryBackoffInitialSeconds: 30,
      deliveryBackoffMaxSeconds: 3600,
      sendingLeaseSeconds: 30,
      sentRetentionDays: 30,
      deadRetentionDays: 90,
    });
    expect(parseEmailQueueSettings(undefined).batchSize).toBe(100);
    expect(parseEmailQueueSettings({ processingIntervalSeconds: 15 }).processingIntervalSeconds).toBe(15);
  });

  it('names every bad key and the reason', () => {
    const error = (() => {
      try {
        parseEmailQueueSettings({ batchSize: 0, concurrency: 1.5, enabled: 'yes', bogus: 1 });
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ValidationError);
    const issues = (error as ValidationError).issues;
    expect(issues).toContainEqual({ field: 'batchSize', reason: 'must be at least 1' });
    expect(issues).toContainEqual({ field: 'concurrency', reason: 'must be an integer' });
    expect(issues).toContainEqual({ field: 'enabled', reason: 'must be a boolean' });
    expect((error as Error).message).toMatch(/^invalid email queue settings: /u);
    expect((error as Error).message).toContain('bogus');
  });

  it('bounds the claim lease (sendingLeaseSeconds): 3 s to a day, naming the key and why', () => {
    expect(parseEmailQueueSettings({ sendingLeaseSeconds: 3 }).sendingLeaseSeconds).toBe(3);
    expect(parseEmailQueueSettings({ sendingLeaseSeconds: 86_400 }).sendingLeaseSeconds).toBe(86_400);
    expect(() => parseEmailQueueSettings({ sendingLeaseSeconds: 2 })).toThrow(
      'invalid email queue settings: sendingLeaseSeconds: must be at least 3 ' +
        '(claims are renewed every third of the lease; a shorter one lapses on one slow statement)',
    );
    expect(() => parseEmailQueueSettings({ sendingLeaseSeconds: 86_401 })).toThrow(
      'sendingLeaseSeconds: must be at most 86400',
    );
    expect(() => parseEmailQueueSettings({ sendingLeaseSeconds: 2.5 })).toThrow('sendingLeaseSeconds: must be an integer');
  });

  it('requires deliveryBackoffMaxSeconds >= deliveryBackoffInitialSeconds', () => {
    expect(() =>
      parseEmailQueueSettings({ deliveryBackoffInitialSeconds: 60, deliveryBackoffMaxSeconds: 10 }),
    ).toThrow('deliveryBackoffMaxSeconds: must be at least deliveryBackoffInitialSeconds');
  });

  it('names the new key of a renamed one (delivery attempts are not run retries)', () => {
    expect(() => parseEmailQueueSettings({ maxAttempts: 3, initialRetryDelaySeconds: 5, colour: 'red' })).toThrow(
      'invalid email queue settings: maxAttempts: renamed to maxDeliveryAttempts; ' +
        'initialRetryDelaySeconds: renamed to deliveryBackoffInitialSeconds; (root): unrecognized key: "colour"',
    );
    expect(() => parseEmailQueueSettings({ maxRetryDelaySeconds: 5 })).toThrow(
      'maxRetryDelaySeconds: renamed to deliveryBackoffMaxSeconds',
    );
  });

  it('is embeddable: the schema is a zod schema', () => {
    expect(emailQueueSettingsSchema.safeParse({ batchSize: 7 }).success).toBe(true);
  });
});

describe('parseSmtpSettings', () => {
  it('fills defaults', () => {
    expect(parseSmtpSettings({ host: 'smtp.example.org', from: 'app@example.org' })).toEqual({
      host: 'smtp.example.org',
      port: 587,
      secure: false,
      requireTls: false,
      rejectUnauthorized: true,
      from: 'app@example.org',
      maxConnections: 5,
      connectionTimeoutMs: 10_000,
    });
  });

  it('names each bad key', () => {
    expect(() => parseSmtpSettings({ host: ' ', port: 70_000, from: 'nope' })).toThrow(
      'invalid SMTP settings: host: must not be empty; port: must be between 1 and 65535; from: must be an email address',
    );
    expect(() => parseSmtpSettings(null)).toThrow(/host: must be a string/u);
  });

  it('never echoes the password', () => {
    const secret = 'S3cr3t-Pa55word!';
    const messages: string[] = [];
    for (const input of [
      { host: 'smtp', from: 'a@example.org', password: secret },
      { host: 'smtp', from: 'a@example.org', user: 'mailer', password: secret, port: 'x' },
    ]) {
      try {
        parseSmtpSettings(input);
      } catch (error) {
        messages.push((error as Error).message);
      }
    }
    expect(messages).toEqual([
      'invalid SMTP settings: password: user and password must be given together',
      'invalid SMTP settings: port: must be a number',
    ]);
    expect(messages.join('\n')).not.toContain(secret);
    expect(() => parseSmtpSettings({ host: 'smtp', from: 'a@example.org', password: 42 })).toThrow(
      'password: must be a string',
    );
  });

  it('accepts user and password together', () => {
    const parsed = smtpSettingsSchema.parse({
      host: 'smtp',
      from: 'a@example.org',
      user: 'mailer',
      password: 'pw',
      secure: true,
    });
    expect(parsed.user).toBe('mailer');
    expect(parsed.secure).toBe(true);
  });
});
