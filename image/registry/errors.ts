/**
 * Registry errors: what a registry answered that the distribution API does not allow (a status, a
 * manifest or blob that does not match), as http/'s `HttpError` (a code from core, the HTTP status and
 * a redacted URL), under the registry's name.
 */
import { HttpError } from '../../http/index.js';

export class RegistryError extends HttpError {}
