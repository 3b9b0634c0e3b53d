import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type { Stack } from './stack.js';

/** Linux reports process CPU time in clock ticks; 100 per second on every platform we run. */
const TICK_MS = 10;

interface ProcTimes {
  pid: number;
  ppid: number;
  /** Own user + system time, ms. */
  own: number;
  /** User + system time of children it has reaped, ms. */
  children: number;
}

function procTimes(pid: number): ProcTimes | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(f[1]), own: (Number(f[11]) + Number(f[12])) * TICK_MS, children: (Number(f[13]) + Number(f[14])) * TICK_MS };
  } catch {
    return undefined;
  }
}

function allProcs(): ProcTimes[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => procTimes(Number(d)))
    .filter((p): p is ProcTimes => p !== undefined);
}

/** CPU time used so far by each component of the stack, ms; and by the whole machine. */
export interface CpuSample {
  atMs: number;
  byComponent: Record<string, number>;
  /** Busy and total jiffies of all cores (ms), from /proc/stat. */
  machine: { busyMs: number; totalMs: number; cores: number };
}

/**
 * Samples CPU time per component from deploy/local's pid files. A component's time includes its
 * process tree: PostgreSQL is a postmaster plus one backend per connection (children that exit
 * are counted through the postmaster's reaped-children time), and `self` is this process plus
 * the clients it ran and waited for (pgbench).
 */
export function sampleCpu(stack: Stack): CpuSample {
  const procs = allProcs();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const kids = new Map<number, ProcTimes[]>();
  for (const p of procs) kids.set(p.ppid, [...(kids.get(p.ppid) ?? []), p]);
  const tree = (pid: number): number => {
    const p = byPid.get(pid);
    if (!p) return 0;
    return p.own + p.children + (kids.get(pid) ?? []).reduce((s, k) => s + tree(k.pid), 0);
  };
  const byComponent: Record<string, number> = {};
  const pidDir = `${stack.CHAPERONE_RUN_DIR}/pids`;
  if (existsSync(pidDir)) {
    for (const f of readdirSync(pidDir).filter((x) => x.endsWith('.pid'))) {
      const pid = Number(readFileSync(`${pidDir}/${f}`, 'utf8').trim());
      if (byPid.has(pid)) byComponent[f.slice(0, -4)] = tree(pid);
    }
  }
  const self = byPid.get(process.pid);
  byComponent.self = (self?.own ?? 0) + (self?.children ?? 0);
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n');
  const total = cpu[0]!.split(/\s+/).slice(1, 9).map(Number);
  const idle = (total[3] ?? 0) + (total[4] ?? 0);
  const sum = total.reduce((a, b) => a + b, 0);
  return { atMs: Date.now(), byComponent, machine: { busyMs: (sum - idle) * TICK_MS, totalMs: sum * TICK_MS, cores: cpu.filter((l) => /^cpu\d+ /.test(l)).length } };
}

export interface CpuUse {
  wallMs: number;
  /** CPU ms per component between the samples (components that restarted in between are left out). */
  byComponent: Record<string, number>;
  /** Share of all cores that was busy, 0..1. */
  machineBusy: number;
  cores: number;
}

export function cpuBetween(a: CpuSample, b: CpuSample): CpuUse {
  const byComponent: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.byComponent)) {
    const before = a.byComponent[k];
    if (before !== undefined && v >= before) byComponent[k] = v - before;
  }
  const total = b.machine.totalMs - a.machine.totalMs;
  return { wallMs: b.atMs - a.atMs, byComponent, machineBusy: total > 0 ? (b.machine.busyMs - a.machine.busyMs) / total : 0, cores: b.machine.cores };
}
