/** Turns an error into a short, stable kind for "errors by kind" (ids and numbers blanked). */
export function errorKind(protocol: string, err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; status?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const short = message
    .replace(/^chaperone: /, '')
    .replace(/'?\b\w+:\/\/[^\s']*'?/g, '<url>')
    .replace(/[0-9a-f]{8,}/gi, '…')
    .replace(/\d+/g, 'N')
    .split('\n')[0]!
    .slice(0, 70);
  if (typeof e?.status === 'number') return `${protocol}:HTTP ${e.status}`;
  if (typeof e?.code === 'string' && e.code.length > 0) return `${protocol}:${e.code} ${short}`.trim();
  return `${protocol}:${short}`;
}

/** A PostgreSQL error that leaves the connection usable (the statement failed, the session goes on). */
export function statementLevel(err: unknown): boolean {
  const e = err as { code?: unknown; severity?: unknown };
  return typeof e?.code === 'string' && /^(42|23|22|40|25)/.test(e.code) && e.severity !== 'FATAL';
}
