import { readFile } from 'node:fs/promises';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { IdentityError } from './errors.js';
import { errorMessage } from '@chaperone/observability';

/** The signing key pair, derived from the one private key file both issuer and verifier read. */
export interface SigningKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** RFC 7638 thumbprint of the public key, put in the `kid` header so rotation can pick keys later. */
  keyId: string;
}

const GENERATE_HINT = 'create one with `openssl genpkey -algorithm ed25519 -out <file>` (deploy/local/install writes one for the local stack)';

/** Reads an Ed25519 PKCS#8 PEM and derives its public key. */
export async function loadSigningKeys(file: string): Promise<SigningKeys> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? errorMessage(err);
    throw new IdentityError('KEY_INVALID', `cannot read the identity signing key ${file} (${code}); ${GENERATE_HINT}`, { cause: err });
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new IdentityError('KEY_INVALID', `${file} is not a PEM private key: ${errorMessage(err)}; ${GENERATE_HINT}`, { cause: err });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new IdentityError('KEY_INVALID', `${file} holds a ${privateKey.asymmetricKeyType ?? 'unknown'} key, identity tokens need Ed25519; ${GENERATE_HINT}`);
  }
  const publicKey = createPublicKey(privateKey);
  const keyId = await calculateJwkThumbprint(publicKey.export({ format: 'jwk' }));
  return { privateKey, publicKey, keyId };
}
