import { scanAt, scanNumbers, PII_DETECTORS } from './pii.js';
import { MAX_PEM_BYTES, scanAssignments, scanPrivateKeys, SECRET_DETECTORS } from './secrets.js';
import { scanTokens } from './tokens.js';
import type { Scan } from './scan.js';
import type { DetectorInfo } from './types.js';

const DESCRIPTIONS: Record<string, string> = {
  'aws-access-key-id': 'AWS access key id (AKIA…, ASIA…)',
  'aws-secret-access-key': 'AWS secret access key (40 base64 characters, high entropy)',
  'gcp-api-key': 'Google Cloud API key (AIza…)',
  'gcp-oauth-token': 'Google OAuth access token (ya29.…)',
  'github-token': 'GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)',
  'gitlab-token': 'GitLab token (glpat-, gldt-, glrt-, … and runner registration tokens)',
  'slack-token': 'Slack token (xoxb-, xoxp-, xapp-, …) or incoming-webhook path',
  'azure-storage-key': 'Azure storage account / Service Bus key in a connection string',
  'azure-client-secret': 'Microsoft Entra ID (Azure AD) client secret (…Q~…)',
  jwt: 'JSON Web Token (eyJ….eyJ….…)',
  'stripe-key': 'Stripe live secret or restricted key, webhook signing secret (whsec_)',
  'npm-token': 'npm access token (npm_…)',
  'ai-api-key': 'AI provider API key (OpenAI, Anthropic, Groq, Hugging Face, xAI, Perplexity, Replicate, OpenRouter, …)',
  'package-registry-token': 'package registry token (PyPI, RubyGems, NuGet, crates.io, Clojars, JFrog, Docker Hub)',
  'email-delivery-key': 'e-mail delivery API key (SendGrid, Mailgun, Mailchimp, Brevo, Resend)',
  'secret-manager-token': 'secret manager token (HashiCorp Vault, 1Password, Doppler, Infisical, Pulumi, age)',
  'twilio-api-key': 'Twilio API key SID',
  'shopify-token': 'Shopify access token (secretlint)',
  'grafana-token': 'Grafana Cloud / service account token (secretlint)',
  'linear-token': 'Linear API key (secretlint)',
  'notion-token': 'Notion integration token (secretlint)',
  'vercel-token': 'Vercel token (secretlint)',
  'databricks-token': 'Databricks personal access token (secretlint)',
  'figma-token': 'Figma personal access token (secretlint)',
  'cloudflare-token': 'Cloudflare API token (secretlint)',
  'tailscale-token': 'Tailscale key (secretlint)',
  'national-id': 'national identity number (US SSN, CA SIN, FR NIR, DE tax id, ES DNI/NIE, IN Aadhaar, BR CPF, CN resident id, KR RRN, SE personnummer, PL PESEL)',
  'private-key': 'PEM / OpenSSH / PGP private key block',
  'url-password': 'password in a URL or connection string (scheme://user:password@host)',
  'secret-assignment': 'value of a password/secret/token/api-key assignment (key=value, "key": "value")',
  email: 'e-mail address',
  'card-number': 'payment card number (issuer prefix and Luhn check)',
  iban: 'IBAN (country length and ISO 13616 mod-97 check)',
  'phone-number': 'phone number (+country code, or North American format)',
};

/** Every detector the masker knows. Secrets are always on in the gateway; PII is a policy choice. */
export const DETECTORS: readonly DetectorInfo[] = [
  ...SECRET_DETECTORS.map((id) => ({ id, kind: 'secret' as const, description: DESCRIPTIONS[id] ?? id })),
  ...PII_DETECTORS.map((id) => ({ id, kind: 'pii' as const, description: DESCRIPTIONS[id] ?? id })),
];

export const SECRET_DETECTOR_IDS: readonly string[] = SECRET_DETECTORS;
export const DETECTOR_IDS: ReadonlySet<string> = new Set(DETECTORS.map((d) => d.id));

/** The passes, cheapest anchors first; each returns at once when none of its detectors is on. */
export const PASSES: readonly ((s: Scan) => void)[] = [scanPrivateKeys, scanTokens, scanAt, scanAssignments, scanNumbers];

/**
 * Longest span any detector can match (a private key block is capped at MAX_PEM_BYTES, every
 * token pattern at a few KiB, a JWT at about 6 KiB): a stream must hold back this much to
 * find matches split across chunks.
 */
export const MAX_MATCH_BYTES = MAX_PEM_BYTES + 512;

/** How far before a match a detector looks (a URL's userinfo, an e-mail's local part, a key name). */
export const MAX_LOOKBEHIND_BYTES = 512;
