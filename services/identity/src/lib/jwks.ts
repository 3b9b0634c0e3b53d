import { readFile, stat } from 'node:fs/promises';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwksCache, type JSONWebKeySet, type JWKSCacheInput, type JWTVerifyGetKey } from 'jose';
import type { TrustedIssuer } from '@chaperone/config';
import { errorMessage } from '@chaperone/observability';

/**
 * An issuer's keys from its JWKS URL, through jose's remote key set: cached for
 * jwksCacheMaxAge, refetched on an unknown `kid` at most once per jwksCooldown. jose itself
 * drops nothing on a failed fetch but fails the verification; here the last good key set keeps
 * answering through an outage (a token signed by a known key still verifies, an unknown `kid`
 * is refused), and after a failed fetch the URL is not asked again for jwksCooldown so an
 * outage costs every token one timeout at most once per cooldown.
 */
export function remoteKeys(t: TrustedIssuer, url: string, now: () => number = Date.now): JWTVerifyGetKey {
  const cache: JWKSCacheInput = {};
  const remote = createRemoteJWKSet(new URL(url), {
    cooldownDuration: t.jwksCooldownMs,
    cacheMaxAge: t.jwksCacheMaxAgeMs,
    timeoutDuration: t.jwksTimeoutMs,
    [jwksCache]: cache,
  });
  let failedAt = -Infinity;
  let fallback: { jwks: JSONWebKeySet; get: JWTVerifyGetKey } | undefined;
  const cached = (): JWTVerifyGetKey | undefined => {
    if (!('jwks' in cache) || !cache.jwks) return undefined;
    if (fallback?.jwks !== cache.jwks) fallback = { jwks: cache.jwks, get: createLocalJWKSet(cache.jwks) };
    return fallback.get;
  };
  return async (header, token) => {
    const last = cached();
    if (last && now() - failedAt < t.jwksCooldownMs) return last(header, token);
    try {
      return await remote(header, token);
    } catch (err) {
      if (isKeyMismatch(err) || !last) throw err;
      failedAt = now();
      return last(header, token);
    }
  };
}

function isKeyMismatch(err: unknown): boolean {
  return err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys || err instanceof errors.JOSEAlgNotAllowed;
}

/** An issuer's keys from a JWKS file, re-read when the file changes (checked at most once per jwksCooldown). */
export function fileKeys(t: TrustedIssuer, file: string, now: () => number = Date.now): JWTVerifyGetKey {
  let loaded: { mtimeMs: number; get: JWTVerifyGetKey } | undefined;
  let checkedAt = -Infinity;
  const load = async (): Promise<JWTVerifyGetKey> => {
    if (loaded && now() - checkedAt < t.jwksCooldownMs) return loaded.get;
    checkedAt = now();
    try {
      const { mtimeMs } = await stat(file);
      if (loaded?.mtimeMs !== mtimeMs) loaded = { mtimeMs, get: createLocalJWKSet(JSON.parse(await readFile(file, 'utf8')) as JSONWebKeySet) };
    } catch (err) {
      if (!loaded) throw new errors.JWKSInvalid(`cannot read the JWKS file ${file}: ${errorMessage(err)}`);
    }
    return loaded.get;
  };
  return async (header, token) => (await load())(header, token);
}
