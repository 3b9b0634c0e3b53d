/**
 * Token detectors: vendor tokens with a documented prefix or infix — the token patterns of
 * secretlint's recommended preset (secretlint.ts) and our own for vendors it lacks (AWS key ids,
 * Google, Azure, JWTs, more AI providers, package registries, e-mail delivery, secret managers)
 * — and AWS secret access keys, looked for only in runs of token bytes at least 20 long. Each
 * pattern runs only on tokens that hold one of its starts (rule-starts.ts derives them).
 */
import { B64, CLASS, TOKEN, UPPER, LOWER, entropy, latin1 } from './bytes.js';
import { forEachRun, type Scan } from './scan.js';
import { ruleShape } from './rule-starts.js';
import { secretlintPatterns } from './secretlint.js';

export interface TokenRule {
  id: string;
  re: RegExp;
  /** Capture group holding the secret when only part of the match is sensitive. */
  group?: number;
  /** Index in TOKEN_RULES. */
  index: number;
  /** Where the pattern comes from: `chaperone`, or `secretlint:<rule>`. */
  source: string;
}

/**
 * Our own token rules: vendors the adopted rule set (secretlint's recommended preset, see
 * secretlint.ts) has no rule for, or covers only in part. Prefixes and lengths as the vendors
 * document them.
 */
const OWN: { id: string; re: RegExp; group?: number }[] = [
  { id: 'aws-access-key-id', re: /(?<![A-Z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])/g },
  { id: 'gcp-api-key', re: /(?<![\w-])AIza[\w-]{35}(?![\w-])/g },
  { id: 'gcp-oauth-token', re: /(?<![\w.-])ya29\.[\w-]{20,2048}/g },
  { id: 'github-token', re: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])/g },
  { id: 'gitlab-token', re: /(?<![\w-])(?:gl(?:pat|dt|ptt|rt|cbt|ft|imt|soat|oas|agent)-[\w.-]{20,512}|GR1348941[\w-]{20,512})/g },
  { id: 'slack-token', re: /(?<![\w-])(?:xox[abposre]-[A-Za-z0-9-]{15,512}|xapp-\d-[A-Za-z0-9-]{15,512})/g },
  { id: 'slack-token', re: /hooks\.slack\.com\/((?:services|workflows|triggers)\/[\w+/-]{20,512})/g, group: 1 },
  { id: 'azure-storage-key', re: /(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/]{40,512}={0,2})/g, group: 1 },
  { id: 'azure-client-secret', re: /(?<![\w~.-])[\w~.]{3}\dQ~[\w~.-]{31,34}(?![\w~.-])/g },
  // A JSON header ('{"' or '{ "' or '{\n'), a payload, a signature that may be empty (alg none).
  { id: 'jwt', re: /(?<![\w-])e(?:yJ|yA|wo)[\w-]{8,2048}\.e(?:yJ|yA|wo)[\w-]{4,5120}\.[\w-]{0,1024}/g },
  { id: 'stripe-key', re: /(?<![A-Za-z0-9_])(?:(?:sk|rk)_live_[A-Za-z0-9]{20,512}|whsec_[A-Za-z0-9+/=]{24,512})/g },
  { id: 'npm-token', re: /(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])/g },
  // AI providers: OpenAI, Anthropic, xAI, Perplexity, Replicate, OpenRouter, DeepSeek-style sk- + 32 hex.
  { id: 'ai-api-key', re: /(?<![\w-])sk-(?:ant-(?:api|admin)\d\d-[\w-]{80,512}|(?:proj-|svcacct-|admin-)?[\w-]{20,256}T3BlbkFJ[\w-]{20,256}|or-v1-[a-f0-9]{64}|[a-f0-9]{32}(?![\w-]))/g },
  { id: 'ai-api-key', re: /(?<![\w-])(?:xai-[A-Za-z0-9]{70,90}|pplx-[A-Za-z0-9]{48}|r8_[A-Za-z0-9]{37})(?![\w-])/g },
  // Package registries: PyPI, RubyGems, NuGet, crates.io, Clojars, JFrog Artifactory.
  { id: 'package-registry-token', re: /(?<![\w-])(?:pypi-AgEIcHlwaS5vcmc[\w-]{50,1000}|rubygems_[a-f0-9]{48}|oy2[a-z0-9]{43}|cio[a-zA-Z0-9]{32}|CLOJARS_[a-z0-9]{60}|AKCp[A-Za-z0-9]{69})(?![\w-])/g },
  // E-mail delivery: Mailgun, Mailchimp, Brevo (Sendinblue), Resend, Postmark server tokens by key name are assignments.
  { id: 'email-delivery-key', re: /(?<![\w-])(?:key-[0-9a-f]{32}|[0-9a-f]{32}-us\d{1,2}|xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}|re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24})(?![\w-])/g },
  // Secret managers: Doppler, Infisical, Pulumi, age, 1Password account secret keys.
  { id: 'secret-manager-token', re: /(?<![\w.-])(?:dp\.(?:st|sa|ct|pt|scim|audit)\.[\w-]{40,44}|st\.[a-f0-9-]{36}\.[a-f0-9]{32}\.[a-f0-9]{32}|pul-[a-f0-9]{40}|AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}|A3-[A-Z0-9]{6}-[A-Z0-9]{5,11}(?:-[A-Z0-9]{5}){3,4})(?![\w-])/g },
  // Twilio API key SIDs and account SIDs with their auth token are in the assignments; the key SID alone:
  { id: 'twilio-api-key', re: /(?<![\w-])SK[0-9a-f]{32}(?![\w-])/g },
];

/** Detector ids for the secretlint rules whose vendors we already name; the others are `<rule>-token`. */
const SECRETLINT_IDS: Record<string, string> = {
  github: 'github-token', gitlab: 'gitlab-token', slack: 'slack-token', npm: 'npm-token', stripe: 'stripe-key',
  openai: 'ai-api-key', anthropic: 'ai-api-key', groq: 'ai-api-key', huggingface: 'ai-api-key',
  sendgrid: 'email-delivery-key', 'hashicorp-vault': 'secret-manager-token', '1password': 'secret-manager-token', docker: 'package-registry-token',
};

/**
 * The secretlint patterns that are not single tokens, and the pass that masks what they find
 * (secretlint.test.ts checks a sample of each): they need ':', '@', quotes or whitespace.
 */
export const SECRETLINT_COVERED: Record<string, string> = {
  aws: 'aws-secret-access-key, secret-assignment',
  privatekey: 'private-key',
  basicauth: 'url-password',
  slack: 'slack-token (hooks.slack.com path)',
  'database-connection-string': 'url-password',
  'filter-comments': 'none: a secretlint directive, not a secret',
};

interface Compiled extends Omit<TokenRule, 'index'> {
  starts: string[];
}

function compileRules(): Compiled[] {
  const out: Compiled[] = [];
  const add = (id: string, re: RegExp, source: string, group?: number) => {
    const shape = ruleShape(re);
    if (!shape) throw new Error(`token rule ${id} (${source}): no literal screens /${re.source}/`);
    const flags = re.flags.includes('g') ? re.flags : `${re.flags}g`;
    out.push({ id, re: new RegExp(re.source, flags), source, starts: shape.starts, ...(group !== undefined ? { group } : {}) });
  };
  for (const r of OWN) add(r.id, r.re, 'chaperone', r.group);
  for (const p of secretlintPatterns()) {
    if (!ruleShape(p.re)?.token) continue; // see SECRETLINT_COVERED
    add(SECRETLINT_IDS[p.rule] ?? `${p.rule}-token`, p.re, `secretlint:${p.rule}`);
  }
  return out;
}

const RULES = compileRules();
export const TOKEN_RULES: readonly TokenRule[] = RULES.map(({ starts: _, ...r }, index) => ({ ...r, index }));

/**
 * The rules' starts as two tables: a pair of bytes gives a row, the row gives for each third
 * byte a group: the rules that can begin so (GROUPS). Token bytes are ASCII: seven bits of each
 * byte index the tables. A pair that ends a token is looked up with 0 for its third byte.
 */
const HINT_PAIR = new Uint8Array(1 << 14);
const GROUP_OF = new Map<string, number>([['', 0]]);
const GROUPS: number[][] = [[]];
let HINT_THIRD = new Uint8Array(0);
{
  const cells = new Map<number, Set<number>>();
  let rows = 0;
  RULES.forEach((r, i) => {
    for (const start of r.starts) {
      const pair = (start.charCodeAt(0) << 7) | start.charCodeAt(1);
      const row = HINT_PAIR[pair] || (HINT_PAIR[pair] = ++rows);
      const thirds = start.length === 2 ? Array.from({ length: 128 }, (_, t) => t) : [start.charCodeAt(2)];
      for (const t of thirds) {
        const cell = (row << 7) | t;
        if (!cells.has(cell)) cells.set(cell, new Set());
        cells.get(cell)!.add(i);
      }
    }
  });
  // One byte a cell keeps both tables in the first-level cache (16 KiB + rows × 128 bytes).
  if (rows > 255 || cells.size > 0 && new Set([...cells.values()].map((s) => [...s].join())).size > 255) throw new Error('token rule starts need wider hint tables');
  HINT_THIRD = new Uint8Array((rows + 1) << 7);
  for (const [cell, set] of cells) {
    const key = [...set].sort((a, b) => a - b).join(',');
    let g = GROUP_OF.get(key);
    if (g === undefined) {
      GROUP_OF.set(key, (g = GROUPS.length));
      GROUPS.push([...set].sort((a, b) => a - b));
    }
    HINT_THIRD[cell] = g;
  }
}

/**
 * Shortest token looked at (an AWS key id is 20). Some preset patterns allow shorter matches
 * (secretlint's Slack and SendGrid ones); the vendors' real tokens are all longer.
 */
export const MIN_TOKEN = 20;
/** 1 for the bytes of tokens (TOKEN in CLASS). */
const TOKEN_BYTES = CLASS.map((c) => ((c & TOKEN) !== 0 ? 1 : 0));
/** Length of an AWS secret access key. */
const AWS_SECRET = 40;

/**
 * AWS secret access keys have no prefix: 40 base64 characters standing alone. A git SHA-1 or
 * other hex digest has no upper case letter, so requiring upper, lower and digit (or / +)
 * plus high entropy keeps digests and words out.
 */
function awsSecretAt(buf: Buffer, start: number, end: number): boolean {
  let upper = 0;
  let lower = 0;
  let other = 0;
  for (let i = start; i < end; i++) {
    const c = CLASS[buf[i]!]!;
    if (c & UPPER) upper++;
    else if (c & LOWER) lower++;
    else other++;
  }
  return upper >= 2 && lower >= 2 && other >= 1 && entropy(buf, start, end) >= 4.2;
}

/** The enabled rules, as a flag per TOKEN_RULES index. */
export const tokenRulesFor = (enabled: ReadonlySet<string>): Uint8Array => Uint8Array.from(TOKEN_RULES, (r) => (enabled.has(r.id) ? 1 : 0));

/** Set in a screen's result when some rule's start is in the token. */
const HIT = 1;
/** Where screenToken puts min(2, upper case letters). */
const UPPER_SHIFT = 1;

/**
 * One loop over the token buf[start, end) (≥ 2 bytes, all ASCII): HIT when a rule's start is in
 * it (a pair look-up per byte; the third byte only for a pair that begins a start, rare in ids,
 * digests and words), and above it how many upper case letters it has, up to 2 (an AWS secret
 * has two at least, see awsSecretAt).
 */
export function screenToken(buf: Buffer, start: number, end: number): number {
  let a = buf[start]!;
  let b = buf[start + 1]!;
  let upper = (CLASS[a]! & UPPER) + (CLASS[b]! & UPPER);
  let hit = 0;
  for (let i = start + 2; i < end; i++) {
    const c = buf[i]!;
    hit |= HINT_THIRD[(HINT_PAIR[(a << 7) | b]! << 7) | c]!;
    upper += CLASS[c]! & UPPER;
    a = b;
    b = c;
  }
  hit |= HINT_THIRD[HINT_PAIR[(a << 7) | b]! << 7]!;
  return (hit !== 0 ? HIT : 0) | (Math.min(2, upper / UPPER) << UPPER_SHIFT);
}

/** Whether some rule's start is in the token buf[start, end): screenToken without the count, for tokens too short for an AWS secret. */
export function tokenHit(buf: Buffer, start: number, end: number): boolean {
  let a = buf[start]!;
  let b = buf[start + 1]!;
  let hit = 0;
  for (let i = start + 2; i < end; i++) {
    const c = buf[i]!;
    const row = HINT_PAIR[(a << 7) | b]!;
    if (row !== 0) hit |= HINT_THIRD[(row << 7) | c]!;
    a = b;
    b = c;
  }
  return (hit | HINT_THIRD[HINT_PAIR[(a << 7) | b]! << 7]!) !== 0;
}

/** Marks of rules already listed by tokenHints, by call (no clearing between calls). */
const listed = new Uint32Array(RULES.length);
let stamp = 0;

/** The indices (in TOKEN_RULES) of the rules whose start is in the token buf[start, end), in order found. */
export function tokenHints(buf: Buffer, start: number, end: number): number[] {
  if (++stamp === 0xffffffff) {
    listed.fill(0);
    stamp = 1;
  }
  const out: number[] = [];
  const note = (g: number) => {
    for (const r of GROUPS[g]!) {
      if (listed[r] === stamp) continue;
      listed[r] = stamp;
      out.push(r);
    }
  };
  let a = buf[start]!;
  let b = buf[start + 1]!;
  for (let i = start + 2; i < end; i++) {
    const c = buf[i]!;
    const g = HINT_THIRD[(HINT_PAIR[(a << 7) | b]! << 7) | c]!;
    if (g !== 0) note(g);
    a = b;
    b = c;
  }
  const g = HINT_THIRD[HINT_PAIR[(a << 7) | b]! << 7]!;
  if (g !== 0) note(g);
  return out;
}

function onToken(s: Scan, start: number, end: number): void {
  const { buf, out } = s;
  const on = s.cfg.tokenRules;
  const aws = s.cfg.awsSecret && end - start >= AWS_SECRET;
  const screen = aws ? screenToken(buf, start, end) : s.cfg.anyTokenRule && tokenHit(buf, start, end) ? HIT : 0;
  if ((screen & HIT) !== 0 && s.cfg.anyTokenRule) {
    const text = latin1(buf, start, end);
    for (const i of tokenHints(buf, start, end)) {
      if (on[i] !== 1) continue;
      const rule = TOKEN_RULES[i]!;
      rule.re.lastIndex = 0;
      for (let m = rule.re.exec(text); m; m = rule.re.exec(text)) {
        const g = rule.group ? m[rule.group] : undefined;
        const at = start + m.index + (g !== undefined ? m[0].indexOf(g) : 0);
        out.push({ start: at, end: at + (g ?? m[0]).length, detector: rule.id });
        if (m[0].length === 0) rule.re.lastIndex++;
      }
    }
  }
  if (aws && screen >>> UPPER_SHIFT >= 2) {
    // Runs of exactly 40 base64 characters inside the token, not followed by '=' padding.
    let i = start;
    while (i < end) {
      if ((CLASS[buf[i]!]! & B64) === 0) {
        i++;
        continue;
      }
      let j = i;
      while (j < end && (CLASS[buf[j]!]! & B64) !== 0) j++;
      if (j - i === AWS_SECRET && buf[j] !== 0x3d && awsSecretAt(buf, i, j)) out.push({ start: i, end: j, detector: 'aws-secret-access-key' });
      i = j;
    }
  }
}

export function scanTokens(s: Scan): void {
  if (s.cfg.anyTokenRule || s.cfg.awsSecret) forEachRun(s, TOKEN_BYTES, MIN_TOKEN, onToken);
}

export const TOKEN_DETECTORS = [...new Set(TOKEN_RULES.map((r) => r.id)), 'aws-secret-access-key'];
