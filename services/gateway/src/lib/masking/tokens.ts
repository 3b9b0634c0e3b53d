/**
 * Token detectors: vendor tokens with a documented prefix (AWS key ids, GitHub, GitLab, Slack,
 * Stripe, JWTs, …) and AWS secret access keys, looked for only in runs of token bytes at least
 * 20 long (see secrets.ts for where the patterns come from).
 */
import { B64, CLASS, TOKEN, UPPER, LOWER, entropy, latin1 } from './bytes.js';
import { forEachRun, type Scan } from './scan.js';

export interface TokenRule {
  id: string;
  re: RegExp;
  /** Capture group holding the secret when only part of the match is sensitive. */
  group?: number;
  /** This rule's bit in the masks the token screens return. */
  bit: number;
}

/**
 * The rules, each with the first three bytes of every way a match of it can begin (two for
 * 'Q~', which the Azure pattern has in its middle): a match holds one of them, so a token
 * without any cannot match the rule.
 */
const RULES: (Omit<TokenRule, 'bit'> & { starts: string[] })[] = [
  { id: 'aws-access-key-id', re: /(?<![A-Z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])/g, starts: ['A3T', 'AKI', 'ASI', 'ABI', 'ACC'] },
  { id: 'gcp-api-key', re: /(?<![\w-])AIza[\w-]{35}(?![\w-])/g, starts: ['AIz'] },
  { id: 'gcp-oauth-token', re: /(?<![\w.-])ya29\.[\w-]{20,2048}/g, starts: ['ya2'] },
  { id: 'github-token', re: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])/g, starts: ['ghp', 'gho', 'ghu', 'ghs', 'ghr', 'git'] },
  {
    id: 'gitlab-token',
    re: /(?<![\w-])(?:gl(?:pat|dt|ptt|rt|cbt|ft|imt|soat|oas|agent)-[\w.-]{20,512}|GR1348941[\w-]{20,512})/g,
    starts: ['glp', 'gld', 'glr', 'glc', 'glf', 'gli', 'gls', 'glo', 'gla', 'GR1'],
  },
  { id: 'slack-token', re: /(?<![\w-])(?:xox[abposre]-[A-Za-z0-9-]{15,512}|xapp-\d-[A-Za-z0-9-]{15,512})/g, starts: ['xox', 'xap'] },
  { id: 'slack-token', re: /hooks\.slack\.com\/((?:services|workflows|triggers)\/[\w+/-]{20,512})/g, group: 1, starts: ['hoo'] },
  { id: 'azure-storage-key', re: /(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/]{40,512}={0,2})/g, group: 1, starts: ['Acc', 'Sha'] },
  { id: 'azure-client-secret', re: /(?<![\w~.-])[\w~.]{3}\dQ~[\w~.-]{31,34}(?![\w~.-])/g, starts: ['Q~'] },
  { id: 'jwt', re: /(?<![\w-])eyJ[\w-]{8,1024}\.eyJ[\w-]{8,4096}\.[\w-]{0,1024}/g, starts: ['eyJ'] },
  { id: 'stripe-key', re: /(?<![A-Za-z0-9_])(?:(?:sk|rk)_live_[A-Za-z0-9]{20,512}|whsec_[A-Za-z0-9+/=]{24,512})/g, starts: ['k_l', 'whs'] },
  { id: 'npm-token', re: /(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])/g, starts: ['npm'] },
  { id: 'ai-api-key', re: /(?<![\w-])sk-(?:ant-(?:api|admin)\d\d-[\w-]{80,512}|(?:proj-|svcacct-|admin-)?[\w-]{20,256}T3BlbkFJ[\w-]{20,256})/g, starts: ['sk-'] },
];
export const TOKEN_RULES: readonly TokenRule[] = RULES.map(({ starts: _, ...r }, i) => ({ ...r, bit: 1 << i }));

/**
 * The rules' starts as two tables: a pair of bytes gives a row, the row gives for each third
 * byte the bits of the rules that can begin so. Token bytes are ASCII: seven bits of each byte
 * index the tables. A pair that ends a token is looked up with 0 for its third byte.
 */
const HINT_PAIR = new Uint8Array(1 << 14);
const HINT_THIRD = new Uint16Array(64 << 7);
{
  let rows = 0;
  RULES.forEach((r, i) => {
    for (const start of r.starts) {
      const pair = (start.charCodeAt(0) << 7) | start.charCodeAt(1);
      const row = HINT_PAIR[pair] || (HINT_PAIR[pair] = ++rows);
      if (start.length === 2) for (let t = 0; t < 128; t++) HINT_THIRD[(row << 7) | t]! |= 1 << i;
      else HINT_THIRD[(row << 7) | start.charCodeAt(2)]! |= 1 << i;
    }
  });
}

/** Shortest token any token rule can match (an AWS key id is 20). */
const MIN_TOKEN = 20;
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

export const tokenRulesFor = (enabled: ReadonlySet<string>): TokenRule[] => TOKEN_RULES.filter((r) => enabled.has(r.id));

/**
 * The rules that may match the token buf[start, end) (≥ 2 bytes, all ASCII), as bits: those
 * whose start is there. A pair look-up per byte; the third byte only for a pair that begins a
 * start (rare in ids, digests and words).
 */
export function tokenHints(buf: Buffer, start: number, end: number): number {
  let a = buf[start]!;
  let b = buf[start + 1]!;
  let hints = 0;
  for (let i = start + 2; i < end; i++) {
    const c = buf[i]!;
    const row = HINT_PAIR[(a << 7) | b]!;
    if (row !== 0) hints |= HINT_THIRD[(row << 7) | c]!;
    a = b;
    b = c;
  }
  return hints | HINT_THIRD[HINT_PAIR[(a << 7) | b]! << 7]!;
}

/** Where screenLongToken puts min(2, upper case letters): above the rules' bits. */
const UPPER_SHIFT = 16;

/**
 * For a token long enough to hold an AWS secret, tokenHints and, above them, how many upper
 * case letters it has, up to 2 (a secret has two at least, see awsSecretAt): one loop.
 */
export function screenLongToken(buf: Buffer, start: number, end: number): number {
  let a = buf[start]!;
  let b = buf[start + 1]!;
  let upper = (CLASS[a]! & UPPER) + (CLASS[b]! & UPPER);
  let hints = 0;
  for (let i = start + 2; i < end; i++) {
    const c = buf[i]!;
    hints |= HINT_THIRD[(HINT_PAIR[(a << 7) | b]! << 7) | c]!;
    upper += CLASS[c]! & UPPER;
    a = b;
    b = c;
  }
  hints |= HINT_THIRD[HINT_PAIR[(a << 7) | b]! << 7]!;
  return hints | (Math.min(2, upper / UPPER) << UPPER_SHIFT);
}

function onToken(s: Scan, start: number, end: number): void {
  const { buf, out } = s;
  const rules = s.cfg.tokenRules;
  const aws = s.cfg.awsSecret && end - start >= AWS_SECRET;
  const screen = aws ? screenLongToken(buf, start, end) : rules.length > 0 ? tokenHints(buf, start, end) : 0;
  if (rules.length > 0) {
    const hints = screen & ((1 << UPPER_SHIFT) - 1);
    if (hints !== 0) {
      const text = latin1(buf, start, end);
      for (const rule of rules) {
        if ((rule.bit & hints) === 0) continue;
        rule.re.lastIndex = 0;
        for (let m = rule.re.exec(text); m; m = rule.re.exec(text)) {
          const g = rule.group ? m[rule.group] : undefined;
          const at = start + m.index + (g !== undefined ? m[0].indexOf(g) : 0);
          out.push({ start: at, end: at + (g ?? m[0]).length, detector: rule.id });
        }
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
  if (s.cfg.tokenRules.length > 0 || s.cfg.awsSecret) forEachRun(s, TOKEN_BYTES, MIN_TOKEN, onToken);
}

export const TOKEN_DETECTORS = [...new Set(TOKEN_RULES.map((r) => r.id)), 'aws-secret-access-key'];
