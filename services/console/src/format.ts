/** Display helpers shared by the pages. */

/** A microsecond timestamp as `YYYY-MM-DD HH:MM:SS.mmm` UTC. */
export const formatMicros = (micros: number): string => (micros ? new Date(micros / 1000).toISOString().replace('T', ' ').slice(0, 23) : '—');

/** `[MASKED:<detector>]` as the gateway writes it in place of what it masked; the detector, or undefined. */
const MASKED = /\[MASKED:([\w-]+)\]/;
export const maskedBy = (cell: string | null): string | undefined => (cell === null ? undefined : MASKED.exec(cell)?.[1]);

/** `datetime-local` input value (UTC) to microseconds; 0 when empty. */
export const microsOf = (local: string): number => (local ? Date.parse(`${local}Z`) * 1000 : 0);
