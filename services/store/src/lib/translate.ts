import { StoreError } from './errors.js';

/** ClickHouse error codes we turn into specific store errors (ErrorCodes.cpp). */
export const CH_READONLY = 164;
export const CH_DUPLICATE_COLUMN = 15;
export const CH_UNKNOWN_IDENTIFIER = 47;
export const CH_TABLE_ALREADY_EXISTS = 57;
export const CH_UNKNOWN_TABLE = 60;

/** The server's error code, from its text (every version words it `Code: N`). */
export function clickhouseCode(message: string): number | undefined {
  const m = /Code: (\d+)/.exec(message);
  return m ? Number(m[1]) : undefined;
}

/**
 * Turns an engine's error text into a StoreError with the engine's own words. ClickHouse 18.16
 * words its errors `Code: N, e.displayText() = DB::Exception: text, e.what() = …`, current
 * versions and chdb `Code: N. DB::Exception: text. (NAME) (version …)`; the code is taken from the
 * text because the current client does not parse the old form.
 */
export function fromEngineText(message: string, cause: unknown): StoreError {
  const code = clickhouseCode(message);
  const text = (/DB::Exception: ([\s\S]*?)(?:, e\.what\(\) = |\s*\(version [\d.]+|$)/.exec(message)?.[1] ?? message).trim();
  // The parser's list of everything it expected runs to a screenful; the position says enough.
  const brief = text.replace(/\s*FORMAT TabSeparatedWithNamesAndTypes/, '').replace(/\. Expected one of: [\s\S]*$/, '');
  const err =
    code === CH_READONLY
      ? new StoreError('READONLY', `read-only: ${brief}. Only SELECT, SHOW, DESCRIBE and EXISTS run here`, { cause })
      : new StoreError('CLICKHOUSE', `ClickHouse: ${brief}`, { cause });
  if (code !== undefined) err.engineCode = code;
  return err;
}
