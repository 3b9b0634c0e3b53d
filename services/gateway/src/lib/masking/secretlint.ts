/**
 * The patterns of secretlint's recommended rule preset (@secretlint/secretlint-rule-preset-recommend,
 * MIT), taken from the installed package at start. A secretlint rule is a callback that scans a
 * whole file with `source.content.matchAll(PATTERN)`; the gateway cannot afford one pass per rule
 * over every response, so each rule is run once over a stand-in content that records the
 * patterns handed to it. The patterns then go into the anchor-driven scanner (tokens.ts) like our
 * own. A preset update brings its new patterns with it; rule-starts.ts derives where each can
 * begin, and secretlint.test.ts fails on a pattern that is neither compiled nor covered.
 */
import { creator as preset } from '@secretlint/secretlint-rule-preset-recommend';

export interface SecretlintPattern {
  /** The rule's short name: `github` for @secretlint/secretlint-rule-github. */
  rule: string;
  re: RegExp;
}

/** What the preset's typings promise of a rule, without the secretlint type package. */
interface RuleCreator {
  meta: { id: string; defaultOptions?: unknown };
  create(context: unknown, options: unknown): Record<string, (source: unknown) => unknown>;
}

/** Runs a rule's handlers over a content that returns no matches and remembers each pattern it is asked for. */
function patternsOf(rule: RuleCreator): RegExp[] {
  const seen: RegExp[] = [];
  const record = (re: unknown) => {
    if (re instanceof RegExp) seen.push(re);
    return null;
  };
  const content = {
    matchAll: (re: unknown) => (record(re), [][Symbol.iterator]()),
    match: record,
    search: (re: unknown) => (record(re), -1),
    includes: () => false,
    indexOf: () => -1,
    split: () => [],
    length: 0,
    toString: () => '',
  };
  const noop = () => () => '';
  const context = { report: () => undefined, createTranslator: noop, createLocalizeMessage: noop, sharedOptions: {}, locale: 'en' };
  let handlers: Record<string, (source: unknown) => unknown>;
  try {
    handlers = rule.create(context, rule.meta.defaultOptions ?? {});
  } catch {
    return seen;
  }
  for (const h of Object.values(handlers)) {
    try {
      h({ content, filePath: '/masking.txt', ext: '.txt', contentType: 'text' });
    } catch {
      // A rule that parses the content (GCP's service-account JSON) finds nothing here.
    }
  }
  return seen;
}

/** Every pattern of the recommended preset, once, in the preset's order. */
export function secretlintPatterns(): SecretlintPattern[] {
  const out: SecretlintPattern[] = [];
  for (const rule of (preset as unknown as { rules: RuleCreator[] }).rules) {
    const name = rule.meta.id.replace(/^@secretlint\/secretlint-rule-/, '');
    for (const re of patternsOf(rule)) out.push({ rule: name, re });
  }
  return out;
}
