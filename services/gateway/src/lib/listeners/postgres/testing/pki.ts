import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Throw-away key material for an in-process gateway: one temp folder, removed by `remove()`. */
export interface TestPki {
  dir: string;
  /** Ed25519 PKCS#8 PEM that signs agent tokens (identity.signingKeyFile). */
  identityKeyFile: string;
  /** Ed25519 PKCS#8 PEM that seals sessions (recording.nodeKeyFile). */
  nodeKeyFile: string;
  /** Self-signed server certificate for CN=localhost and its key (gateway.postgres.tls). */
  certFile: string;
  keyFile: string;
  remove(): void;
}

function ed25519Pem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** Creates the keys with node:crypto and the TLS certificate with the system's openssl. */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'chaperone-pg-test-'));
  const file = (name: string, pem: string) => {
    const path = join(dir, name);
    writeFileSync(path, pem, { mode: 0o600 });
    return path;
  };
  const certFile = join(dir, 'gateway.pem');
  const keyFile = join(dir, 'gateway-key.pem');
  // P-256 rather than Ed25519: every TLS client library accepts it.
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=localhost'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return {
    dir,
    identityKeyFile: file('identity.pem', ed25519Pem()),
    nodeKeyFile: file('node.pem', ed25519Pem()),
    certFile,
    keyFile,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
