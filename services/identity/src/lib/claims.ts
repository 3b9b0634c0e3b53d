import { IdentityError } from './errors.js';

/**
 * The value at a claim path: `repository` is a top-level claim, `kubernetes.io.namespace` a nested
 * one. Claim names may themselves hold dots (`kubernetes.io`), so at each level the longest name
 * that exists wins.
 */
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  const parts = path.split('.');
  for (let n = parts.length - 1; n >= 1; n--) {
    const head = parts.slice(0, n).join('.');
    const next = Object.hasOwn(claims, head) ? claims[head] : undefined;
    if (next !== null && typeof next === 'object' && !Array.isArray(next)) {
      const found = claimAt(next as Record<string, unknown>, parts.slice(n).join('.'));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

const PLACEHOLDER = /\{([A-Za-z0-9_.:/-]+)\}/g;

/**
 * Fills `repo:{repository}:ref:{ref}` from a token's claims. A placeholder whose claim is missing,
 * empty or not a string/number refuses the token: a subject or group is never built from a
 * half-filled template.
 */
export function renderTemplate(template: string, claims: Record<string, unknown>, issuer: string): string {
  return template.replace(PLACEHOLDER, (_m, path: string) => {
    const v = claimAt(claims, path);
    if ((typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isFinite(v))) return String(v);
    throw new IdentityError(
      'CLAIM_REQUIRED',
      `token from ${issuer} has no usable claim "${path}" (needed for "${template}" in identity.trustedIssuers); use a token that carries it`,
    );
  });
}
