import type { ToolDefinition } from './definition.js';

/**
 * A heuristic scan of a tool's text for instructions aimed at the model rather than at a
 * developer ("tool poisoning": hidden directives in descriptions, which clients pass to the
 * model verbatim — https://invariantlabs.ai/blog/mcp-security-notification-tool-poisoning-attacks;
 * MCP spec, Security: "descriptions of tool behavior … should be considered untrusted").
 *
 * It reads the description, the title and every `description` inside the input schema, and
 * reports which rules matched where. It is a policy input (`command.mcp.toolInfo.scan`), not a
 * block: a description that says "do not use for deletes" is fine, one that says "ignore previous
 * instructions" or "do not tell the user" is what the rules look for. Each rule is tested with
 * real-world-shaped positives and benign negatives in scan.test.ts.
 */
export interface ScanFinding {
  rule: ScanRule;
  /** `description`, `title`, or the JSON path of a schema description (`inputSchema.properties.x.description`). */
  field: string;
  /** Up to 80 characters around the match. */
  excerpt: string;
}

export type ScanRule = 'hidden-markup' | 'instruction-override' | 'concealment' | 'sensitive-path' | 'exfiltration' | 'model-directive' | 'invisible-text' | 'encoded-blob';

export interface ScanResult {
  /** At least one finding of a rule that benign descriptions do not trip. */
  suspicious: boolean;
  /** Sum of the weights of the rules that matched (each rule counts once). */
  score: number;
  findings: ScanFinding[];
}

interface Rule {
  rule: ScanRule;
  weight: number;
  re: RegExp;
}

// Weight 3: no benign description says this. Weight 1: a hint, suspicious only with others (score >= 3).
const RULES: Rule[] = [
  { rule: 'hidden-markup', weight: 3, re: /<\/?\s*(important|system|instructions?|secret|hidden)\s*>|\[\/?INST\]|<\|im_start\|>|<\|system\|>/i },
  { rule: 'instruction-override', weight: 3, re: /\b(ignore|disregard|forget|override)\b.{0,30}\b(previous|prior|above|earlier|all|other|system)\b.{0,20}\b(instructions?|prompts?|rules|directives|guidelines)\b/i },
  { rule: 'concealment', weight: 3, re: /\b(do not|don't|never|must not)\s+(tell|mention|inform|reveal|show|notify|disclose)\b.{0,30}\b(user|human|operator)\b|\bwithout\s+(telling|informing|asking|notifying)\s+the\s+(user|human)\b|\b(user|human)\s+(must|should)\s+not\s+(know|see|notice)\b/i },
  { rule: 'sensitive-path', weight: 2, re: /~\/\.ssh|\bid_(rsa|ed25519|ecdsa)\b|\.aws\/credentials|\.kube\/config|\bmcp\.json\b|\/etc\/(passwd|shadow)\b|\.netrc\b|(^|[\s/"'])\.env\b|\bprivate[ _-]key\b/i },
  { rule: 'exfiltration', weight: 3, re: /\b(pass|send|include|append|add|put|copy|embed)\b.{0,80}\b(contents?|keys?|tokens?|passwords?|secrets?|credentials?|conversation|chat history)\b.{0,80}\b(as|in|into|to)\s+(the\s+)?['"`]?\w*['"`]?\s*(parameter|argument|field|sidenote|notes?)\b/i },
  { rule: 'model-directive', weight: 1, re: /\b(you|the (assistant|ai|model|llm|agent))\s+(must|should|have to|need to)\s+(always|first|never|immediately)\b|\bbefore (using|calling) (this|any other) tool\b|\b(very|extremely) important\b|\bthis is (critical|mandatory)\b/i },
  // Zero-width and bidi controls, and Unicode tag characters (U+E0000–E007F: "ASCII smuggling").
  { rule: 'invisible-text', weight: 3, re: /[\u200B-\u200F\u2060-\u2064\uFEFF\u202A-\u202E\u2066-\u2069]|\uDB40[\uDC00-\uDC7F]/ },
  { rule: 'encoded-blob', weight: 1, re: /[A-Za-z0-9+/]{80,}={0,2}/ },
];

function excerpt(text: string, index: number, length: number): string {
  const from = Math.max(0, index - 20);
  const s = text.slice(from, Math.min(text.length, index + length + 40)).replace(/\s+/g, ' ');
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}

/** The texts of a definition the model reads, with where they come from. */
function texts(d: ToolDefinition): [string, string][] {
  const out: [string, string][] = [];
  if (d.description) out.push(['description', d.description]);
  if (d.title) out.push(['title', d.title]);
  const walk = (v: unknown, path: string, depth: number): void => {
    if (v === null || typeof v !== 'object' || depth > 32 || out.length > 256) return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const p = `${path}.${k}`;
      if ((k === 'description' || k === 'title') && typeof x === 'string') out.push([p, x]);
      else walk(x, p, depth + 1);
    }
  };
  walk(d.inputSchema, 'inputSchema', 0);
  return out;
}

/** Scans one tool definition (see the rules above). */
export function scanTool(d: ToolDefinition): ScanResult {
  const findings: ScanFinding[] = [];
  const matched = new Set<ScanRule>();
  let score = 0;
  for (const [field, text] of texts(d)) {
    for (const r of RULES) {
      const m = r.re.exec(text);
      if (!m) continue;
      findings.push({ rule: r.rule, field, excerpt: excerpt(text, m.index, m[0].length) });
      if (!matched.has(r.rule)) {
        matched.add(r.rule);
        score += r.weight;
      }
    }
  }
  return { suspicious: score >= 3, score, findings };
}
