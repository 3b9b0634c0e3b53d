/**
 * `chaperone sql --format json` cells as JSON values by their ClickHouse column type: numbers as
 * numbers (a UInt64 past 2^53 stays a decimal string, which JSON numbers cannot hold exactly),
 * arrays as arrays, NULL as null, everything else the text ClickHouse rendered.
 */

const NUMBER = /^(?:Nullable\()?(?:U?Int(?:8|16|32|64)|Float(?:32|64))\)?$/;
const ARRAY = /^Array\((.*)\)$/;

function number(text: string): number | string {
  const n = Number(text);
  if (!Number.isFinite(n) || text.trim() === '') return text;
  return Number.isInteger(n) && !Number.isSafeInteger(n) ? text : n;
}

/** The items of ClickHouse's text for an array of strings: ['a','it\'s'] (backslash escapes). */
function stringItems(text: string): string[] | undefined {
  const out: string[] = [];
  let i = 1;
  if (text === '[]') return out;
  while (i < text.length) {
    if (text[i] !== "'") return undefined;
    let s = '';
    for (i++; i < text.length && text[i] !== "'"; i++) {
      if (text[i] === '\\' && i + 1 < text.length) {
        i++;
        s += ({ n: '\n', t: '\t', r: '\r', '0': '\0' } as Record<string, string>)[text[i]!] ?? text[i];
      } else s += text[i];
    }
    out.push(s);
    i++; // the closing quote
    if (text[i] === ']') return out;
    if (text[i] !== ',') return undefined;
    i++;
  }
  return undefined;
}

/** One cell as a JSON value. */
export function sqlCell(type: string, text: string | null): unknown {
  if (text === null) return null;
  if (NUMBER.test(type)) return number(text);
  const item = ARRAY.exec(type)?.[1];
  if (item !== undefined && text.startsWith('[') && text.endsWith(']')) {
    if (NUMBER.test(item)) return text === '[]' ? [] : text.slice(1, -1).split(',').map(number);
    if (/^(?:Nullable\()?(?:String|FixedString\(\d+\))\)?$/.test(item)) return stringItems(text) ?? text;
  }
  return text;
}
