/**
 * Whether a string is a valid image reference, as the FROM checks ask: distribution/reference's
 * ParseNormalizedNamed, which is oci/'s parseReference, and which also refuses a bare 64-hex image ID.
 */
import { parseReference } from '../../oci/index.js';

const HEX64 = /^[a-f0-9]{64}$/;

/** True when `ref` parses as a normalised named reference (`busybox`, `reg:5000/a/b:tag@sha256:…`). */
export function isValidReference(ref: string): boolean {
  if (HEX64.test(ref)) return false;
  try {
    parseReference(ref);
    return true;
  } catch {
    return false;
  }
}
