/**
 * A masking corpus for tests: random, format-valid values for every token rule (generated from
 * the rule's own pattern with fast-check's stringMatching, so a rule the adopted preset adds is
 * in the corpus with no change here), for the secrets found by the anchor passes (private keys,
 * URL passwords, assignments, AWS secret keys: what secretlint's non-token patterns match) and
 * for each PII kind (with valid check digits). Deterministic for a seed.
 */
import fc from 'fast-check';
import { ibanValid } from './bytes.js';
import { aadhaarValid, cnIdValid, cpfValid, DNI_LETTERS, peselValid, rrnValid, steuerIdValid } from './national.js';
import { MIN_TOKEN, TOKEN_RULES } from './tokens.js';

export interface CorpusValue {
  /** What it is: `token:<rule source>/<detector>`, `pii:<kind>`, … */
  kind: string;
  /** The text as it would sit in a value. */
  value: string;
  /** The part that must never reach an agent or a recording. */
  secret: string;
}

/** mulberry32: a small seeded generator, so a failing corpus can be made again. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A rule's pattern without the zero-width checks around it, anchored, for generating whole matches. */
const generatorPattern = (re: RegExp): RegExp =>
  new RegExp(`^(?:${re.source.replace(/\(\?<?[!=](?:[^()\\]|\\.|\([^()]*\))*\)|(?<!\\)\\b/g, '')})$`, re.flags.replace('g', ''));

function tokenValues(seed: number, perRule: number): CorpusValue[] {
  const out: CorpusValue[] = [];
  for (const rule of TOKEN_RULES) {
    const whole = new RegExp(rule.re.source, rule.re.flags.replace('g', ''));
    const arb = fc.stringMatching(generatorPattern(rule.re)).filter((v) => {
      const m = whole.exec(v);
      // The standing-alone match is the whole value (the rule's own boundaries hold).
      return m !== null && m.index === 0 && m[0] === v && v.length >= MIN_TOKEN && v.length < 4096;
    });
    for (const value of fc.sample(arb, { seed: seed + rule.index, numRuns: perRule })) {
      const m = whole.exec(value)!;
      const secret = rule.group !== undefined ? m[rule.group]! : value;
      out.push({ kind: `token:${rule.source}/${rule.id}`, value, secret });
    }
  }
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

class Gen {
  constructor(readonly r: () => number) {}
  int = (lo: number, hi: number) => lo + Math.floor(this.r() * (hi - lo + 1));
  pick = <T>(xs: readonly T[]): T => xs[Math.floor(this.r() * xs.length)]!;
  chars = (alphabet: string, n: number) => Array.from({ length: n }, () => this.pick([...alphabet])).join('');
  digits = (n: number) => Array.from({ length: n }, () => this.int(0, 9));
  pad = (n: number, w: number) => String(n).padStart(w, '0');
  /** The first digit 0–9 that makes `valid` true for `prefix` + it (check digits by search). */
  check = (prefix: number[], valid: (d: number[]) => boolean, extra = 0): number[] | undefined => {
    for (let c = 0; c < 10 ** (extra + 1); c++) {
      const tail = String(c).padStart(extra + 1, '0').split('').map(Number);
      if (valid([...prefix, ...tail])) return [...prefix, ...tail];
    }
    return undefined;
  };
}

function luhnComplete(g: Gen, prefix: string, length: number): string {
  const body = prefix + g.digits(length - prefix.length - 1).join('');
  for (let c = 0; c < 10; c++) {
    const n = body + c;
    let sum = 0;
    for (let i = 0; i < n.length; i++) {
      let d = Number(n[n.length - 1 - i]);
      if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    if (sum % 10 === 0) return n;
  }
  throw new Error('unreachable');
}

function ibanOf(country: string, bban: string): string {
  const num = (bban + country + '00').replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  let rem = 0;
  for (const ch of num) rem = (rem * 10 + Number(ch)) % 97;
  const iban = `${country}${String(98 - rem).padStart(2, '0')}${bban}`;
  if (!ibanValid(iban)) throw new Error(`bad IBAN ${iban}`);
  return iban;
}

/** National identity numbers of each country the detector knows, printed as they usually are. */
function nationalIds(g: Gen): CorpusValue[] {
  const id = (country: string, value: string) => ({ kind: `pii:national-id:${country}`, value, secret: value });
  const out: CorpusValue[] = [];
  let area = g.int(1, 899);
  if (area === 666) area = 665;
  out.push(id('us-ssn', `${g.pad(area, 3)}-${g.pad(g.int(1, 99), 2)}-${g.pad(g.int(1, 9999), 4)}`));
  const sin = luhnComplete(g, String(g.pick([1, 2, 3, 4, 5, 6, 7, 9])), 9);
  out.push(id('ca-sin', `${sin.slice(0, 3)} ${sin.slice(3, 6)} ${sin.slice(6)}`));
  const aad = g.check([g.int(2, 9), ...g.digits(10)], aadhaarValid)!.join('');
  out.push(id('in-aadhaar', `${aad.slice(0, 4)} ${aad.slice(4, 8)} ${aad.slice(8)}`));
  const cpf = g.check(g.digits(9), cpfValid, 1)!.join('');
  out.push(id('br-cpf', `${cpf.slice(0, 3)}.${cpf.slice(3, 6)}.${cpf.slice(6, 9)}-${cpf.slice(9)}`));
  const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 0].sort(() => g.r() - 0.5).slice(0, 9);
  if (ten[0] === 0) ten.reverse();
  const steuer = g.check([...ten, ten[g.int(1, 8)]!], steuerIdValid);
  if (steuer) out.push(id('de-steuer-id', steuer.join('')));
  const pesel = g.check([...g.digits(2), ...g.pad(g.int(1, 12), 2).split('').map(Number), ...g.pad(g.int(1, 28), 2).split('').map(Number), ...g.digits(4)], peselValid);
  if (pesel) out.push(id('pl-pesel', pesel.join('')));
  const nir13 = `${g.int(1, 2)}${g.pad(g.int(40, 99), 2)}${g.pad(g.int(1, 12), 2)}${g.pad(g.int(1, 95), 2)}${g.pad(g.int(1, 999), 3)}${g.pad(g.int(1, 999), 3)}`;
  let rem = 0;
  for (const ch of nir13) rem = (rem * 10 + Number(ch)) % 97;
  const nir = nir13 + g.pad(97 - rem, 2);
  out.push(id('fr-nir', `${nir[0]} ${nir.slice(1, 3)} ${nir.slice(3, 5)} ${nir.slice(5, 7)} ${nir.slice(7, 10)} ${nir.slice(10, 13)} ${nir.slice(13)}`));
  const dni = g.int(10_000_000, 99_999_999);
  out.push(id('es-dni', `${dni}${DNI_LETTERS[dni % 23]}`));
  const cn17 = [...g.digits(6), 1, 9, g.int(5, 9), g.int(0, 9), ...g.pad(g.int(1, 12), 2).split('').map(Number), ...g.pad(g.int(1, 28), 2).split('').map(Number), ...g.digits(3)];
  const cnDigit = g.check(cn17, (d) => cnIdValid(d, false));
  out.push(id('cn-resident-id', cnDigit ? cnDigit.join('') : `${cn17.join('')}X`));
  const rrn = g.check([...g.digits(2), ...g.pad(g.int(1, 12), 2).split('').map(Number), ...g.pad(g.int(1, 28), 2).split('').map(Number), g.int(1, 4), ...g.digits(5)], rrnValid);
  if (rrn) out.push(id('kr-rrn', `${rrn.slice(0, 6).join('')}-${rrn.slice(6).join('')}`));
  const se = luhnComplete(g, `${g.pad(g.int(40, 99), 2)}${g.pad(g.int(1, 12), 2)}${g.pad(g.int(1, 28), 2)}`, 10);
  out.push(id('se-personnummer', `${se.slice(0, 6)}-${se.slice(6)}`));
  return out;
}

function pii(g: Gen): CorpusValue[] {
  const v = (kind: string, value: string) => ({ kind: `pii:${kind}`, value, secret: value });
  const out: CorpusValue[] = [v('email', `${g.chars('abcdefghijklmnopqrstuvwxyz', 8)}.${g.int(1, 999)}@${g.chars('abcdefghijklmnopqrstuvwxyz', 6)}.example.com`)];
  const cards: [string, string, number][] = [
    ['visa', '4', 16], ['mastercard', String(g.int(51, 55)), 16], ['mastercard-2', String(g.int(2221, 2720)), 16], ['amex', g.pick(['34', '37']), 15],
    ['discover', '6011', 16], ['jcb', String(g.int(3528, 3589)), 16], ['unionpay', '62', 16], ['diners', '36', 14], ['mir', String(g.int(2200, 2204)), 16],
    ['rupay', g.pick(['81', '82']), 16], ['troy', '9792', 16],
  ];
  for (const [name, prefix, len] of cards) {
    const n = luhnComplete(g, prefix, len);
    out.push(v(`card:${name}`, len === 16 ? n.replace(/(\d{4})(?=\d)/g, '$1 ') : n));
  }
  const digits = (n: number) => g.digits(n).join('');
  const ibans: [string, string][] = [
    ['DE', digits(18)], ['FR', digits(23)], ['ES', digits(20)], ['IT', `${g.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 1)}${digits(22)}`], ['NL', `${g.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 4)}${digits(10)}`],
    ['GB', `${g.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 4)}${digits(14)}`], ['CH', digits(17)], ['PL', digits(24)], ['BR', `${digits(23)}C1`], ['SA', digits(20)],
  ];
  for (const [country, bban] of ibans) {
    const iban = ibanOf(country, bban);
    out.push(v(`iban:${country}`, g.r() < 0.5 ? iban : iban.replace(/(.{4})(?=.)/g, '$1 ')));
  }
  out.push(
    v('phone:intl-uk', `+44 20 ${g.int(7000, 7999)} ${g.pad(g.int(0, 9999), 4)}`),
    v('phone:intl-de', `+49 30 ${g.int(1000000, 99999999)}`),
    v('phone:intl-in', `+91 ${g.int(70000, 99999)} ${g.int(10000, 99999)}`),
    v('phone:nanp', `(${g.int(201, 989)}) ${g.int(200, 999)}-${g.pad(g.int(0, 9999), 4)}`),
    v('phone:fr', `0${g.int(1, 9)} ${g.pad(g.int(0, 99), 2)} ${g.pad(g.int(0, 99), 2)} ${g.pad(g.int(0, 99), 2)} ${g.pad(g.int(0, 99), 2)}`),
    v('phone:uk-mobile', `07${g.int(100, 999)} ${g.int(100000, 999999)}`),
  );
  return [...out, ...nationalIds(g)];
}

/** Secrets the anchor passes find (and what secretlint's non-token patterns match). */
function anchored(g: Gen): CorpusValue[] {
  const body = Array.from({ length: 6 }, () => g.chars(B64, 64)).join('\n');
  const pass = g.chars(ALNUM, 20);
  let aws = '';
  while (!/[A-Z].*[A-Z]/.test(aws) || !/[a-z].*[a-z]/.test(aws) || !/[0-9+/]/.test(aws)) aws = g.chars(B64, 40);
  return [
    { kind: 'secret:private-key', value: `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----`, secret: body.slice(0, 64) },
    { kind: 'secret:openssh-private-key', value: `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----`, secret: body.slice(64, 128) },
    { kind: 'secret:aws-secret-access-key', value: aws, secret: aws },
    { kind: 'secretlint:aws', value: `aws_secret_access_key = "${aws}"`, secret: aws },
    { kind: 'secretlint:basicauth', value: `https://deploy:${pass}@example.com/path`, secret: pass },
    { kind: 'secretlint:database-connection-string', value: `postgresql://app:${pass}@db.internal:5432/app`, secret: pass },
    { kind: 'secretlint:database-connection-string', value: `mongodb+srv://admin:${pass}@cluster0.example.net/db`, secret: pass },
    { kind: 'secretlint:database-connection-string', value: `mysql://root:${pass}@localhost:3306/shop`, secret: pass },
    { kind: 'secretlint:slack', value: `https://hooks.slack.com/services/T${g.chars(ALNUM, 10)}/B${g.chars(ALNUM, 10)}/${g.chars(ALNUM, 24)}`, secret: '' },
    { kind: 'secret:secret-assignment', value: `DB_PASSWORD=${pass}`, secret: pass },
  ].map((c) => (c.secret === '' ? { ...c, secret: c.value.slice(c.value.lastIndexOf('/') + 1) } : c));
}

/** The whole corpus: `perRule` values for each token rule, one of each other kind. */
export function maskingCorpus(opts: { seed?: number; perRule?: number } = {}): CorpusValue[] {
  const seed = opts.seed ?? 17;
  const g = new Gen(prng(seed));
  return [...tokenValues(seed, opts.perRule ?? 3), ...anchored(g), ...pii(g)];
}

/** Values that look like secrets to a careless detector and are not: they must pass unmasked. */
export function lookalikes(opts: { seed?: number } = {}): string[] {
  const g = new Gen(prng(opts.seed ?? 17));
  const hex = (n: number) => g.chars('0123456789abcdef', n);
  const words = 'the order was shipped to the customer after payment cleared and the invoice moved to paid';
  return [
    hex(40), // git SHA-1
    hex(64), // SHA-256
    `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`, // UUID
    `sha256:${hex(64)}`,
    Buffer.from(words).toString('base64'),
    Buffer.from(words.toUpperCase()).toString('base64url'),
    `2024-0${g.int(1, 9)}-1${g.int(0, 9)}T12:34:56.789Z`,
    `order ${g.int(10000, 99999)} cost ${g.int(1, 999)}.${g.pad(g.int(0, 99), 2)} EUR, version 1.${g.int(0, 9)}.${g.int(0, 9)}`,
    `/api/v1/projects/${hex(24)}/builds/${g.int(1000, 9999)}`,
  ];
}
