/**
 * Credential redaction, in one place: what an error, a log line or a stored record says of a URL has no
 * user info and no secret-looking query values (signed blob redirects, token endpoints). Authorization
 * headers are never printed; the redirect rules (redirect.ts) keep them from other origins.
 */

/** Query parameters that may carry secrets. */
const SECRET_PARAMS =
  /^(?:token|access_token|refresh_token|password|x-amz-.*|x-goog-.*|sig|signature|se|sp|sv)$/i;

/** `url` without user info and with secret-looking query values replaced by `REDACTED`. */
export function redactURL(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url.toString());
  } catch {
    return '<invalid url>';
  }
  parsed.username = '';
  parsed.password = '';
  for (const key of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAMS.test(key)) parsed.searchParams.set(key, 'REDACTED');
  }
  return parsed.toString();
}
