import { FleetError } from './errors.js';

/** What agents do, by weight: PostgreSQL statements, statements the policy blocks, git, HTTP API calls. */
export interface Mix {
  pg: number;
  blocked: number;
  git: number;
  http: number;
}

export type OpKind = keyof Mix;

export const DEFAULT_MIX: Mix = { pg: 80, blocked: 5, git: 10, http: 5 };

/** `90s`, `2m`, `1500ms`, `1h`, or plain seconds. */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new FleetError('BAD_ARGS', `not a duration: "${v}" (use e.g. 60s, 2m, 1500ms)`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(n * unit);
}

/** `50/s`, `600/m` or a plain number per second → operations per second (whole fleet). */
export function parseRate(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:\/(s|m))?$/.exec(v.trim());
  if (!m || Number(m[1]) <= 0) throw new FleetError('BAD_ARGS', `not a rate: "${v}" (use e.g. 50/s or 600/m)`);
  return m[2] === 'm' ? Number(m[1]) / 60 : Number(m[1]);
}

/** `pg=80,blocked=5,git=10,http=5`; kinds left out get 0; weights need not sum to 100. */
export function parseMix(v: string): Mix {
  const mix: Mix = { pg: 0, blocked: 0, git: 0, http: 0 };
  for (const part of v.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [k, w] = part.split('=');
    if (!k || !(k in mix) || w === undefined || !/^\d+(\.\d+)?$/.test(w))
      throw new FleetError('BAD_ARGS', `bad mix entry "${part}": use kind=weight with kinds pg, blocked, git, http (e.g. pg=80,blocked=5,git=10,http=5)`);
    mix[k as OpKind] = Number(w);
  }
  if (mix.pg + mix.blocked + mix.git + mix.http <= 0) throw new FleetError('BAD_ARGS', 'the mix has no positive weight');
  return mix;
}

/** Picks a kind with probability proportional to its weight (`r` in [0, 1)). */
export function pick(mix: Mix, r: number): OpKind {
  const total = mix.pg + mix.blocked + mix.git + mix.http;
  let x = r * total;
  for (const k of ['pg', 'blocked', 'git', 'http'] as const) {
    if (x < mix[k]) return k;
    x -= mix[k];
  }
  return 'pg';
}
