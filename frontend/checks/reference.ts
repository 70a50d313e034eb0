/**
 * Whether a string is a valid image reference (distribution/reference's ParseNormalizedNamed), as the
 * FROM checks ask. The frontend may not import image/, so the grammar is restated here.
 */

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const NAME = `(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*`;
const REFERENCE = new RegExp(`^(${NAME})(?::${TAG})?(?:@${DIGEST})?$`);
const HEX64 = /^[a-f0-9]{64}$/;

/** True when `ref` parses as a normalised named reference (`busybox`, `reg:5000/a/b:tag@sha256:…`). */
export function isValidReference(ref: string): boolean {
  if (ref === '' || HEX64.test(ref)) return false;
  const m = REFERENCE.exec(ref);
  if (!m) return false;
  return (m[1] ?? '').length <= 255;
}
