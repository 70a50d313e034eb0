/**
 * Credential redaction (http/redact.ts), the one place a URL is made safe to print: user info and
 * secret-looking query values go, and every HttpError carries only the redacted URL.
 */
import { describe, expect, it } from 'vitest';
import { HttpError, redactURL } from '../../http/index.js';

describe('redactURL', () => {
  it('drops user info and replaces secret-looking query values', () => {
    expect(redactURL('https://user:secret@h.example/token?scope=a&token=abc&X-Amz-Signature=s')).toBe(
      'https://h.example/token?scope=a&token=REDACTED&X-Amz-Signature=REDACTED',
    );
    expect(redactURL(new URL('http://u@h.example:8080/p?access_token=1&sig=2&keep=3'))).toBe(
      'http://h.example:8080/p?access_token=REDACTED&sig=REDACTED&keep=3',
    );
    expect(redactURL('https://h.example/blob?X-Goog-Credential=c&se=2030&sp=r&sv=1&password=p')).toBe(
      'https://h.example/blob?X-Goog-Credential=REDACTED&se=REDACTED&sp=REDACTED&sv=REDACTED&password=REDACTED',
    );
  });

  it('does not echo what it cannot parse', () => {
    expect(redactURL('not a url with user:secret@')).toBe('<invalid url>');
  });

  it('is what an HttpError says of its URL', () => {
    const err = new HttpError('NOT_FOUND', 'GET failed: HTTP 404', {
      url: 'https://me:hunter2@h.example/f?token=t0k',
      status: 404,
    });
    expect(err.url).toBe('https://h.example/f?token=REDACTED');
    expect(err.message).toBe('GET failed: HTTP 404 (https://h.example/f?token=REDACTED)');
    expect(err.message).not.toMatch(/hunter2|t0k|me:/);
  });
});
