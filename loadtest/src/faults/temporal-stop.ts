/**
 * Fault: stop the Temporal server while approvals are pending, start it again, approve.
 *   node --conditions=development --import tsx loadtest/src/faults/temporal-stop.ts --help
 */
import { readFileSync } from 'node:fs';
import { createApprovalsClient, type ApprovalsClient } from '@chaperone/approvals';
import { TokenIssuer } from '@chaperone/identity';
import { deploy, waitHealthy } from '../fleet/stack.js';
import { checkRun, readLogFrom, logOffset } from '../loss/run.js';
import { parseStatementLog } from '../loss/statement-log.js';
import { faultCommand, isMain } from './command.js';
import { HeldAgent } from './held.js';
import type { Fault, FaultContext } from './scenario.js';

/** An approver of deploy/local's configuration in a group the default policy's approvals name. */
const APPROVER = { approver: 'user:alice', groups: ['dba'], reason: 'fault scenario temporal-stop' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Approves what each held agent waits for, resubmitting refused statements, until all ran or the deadline. */
async function approveAll(ctx: FaultContext, held: HeldAgent[], deadlineMs: number): Promise<void> {
  let client: ApprovalsClient | undefined;
  const approved = new Set<string>();
  try {
    while (Date.now() < deadlineMs && held.some((h) => !h.ran)) {
      client ??= await createApprovalsClient(ctx.config.temporal, { connectTimeoutMs: 5000 }).catch(() => undefined);
      for (const h of held) {
        if (h.ran) continue;
        if (!h.waiting) {
          await h.submit();
          await h.ticket(10_000);
        }
        const id = h.approvalIds.at(-1);
        if (client && id && !approved.has(`${id}#${h.approvalIds.length}`)) {
          try {
            await client.approve(id, APPROVER);
            approved.add(`${id}#${h.approvalIds.length}`);
            ctx.say(`${h.o.subject}: approved ${id} as ${APPROVER.approver}`);
          } catch {
            // Not started yet, or closed (expired while Temporal was down): the next round resubmits.
          }
        }
      }
      await sleep(500);
    }
  } finally {
    await client?.close().catch(() => undefined);
  }
}

/** The scenario, with its held agents shared between inject, recover and verify. */
export function temporalStop(): Fault {
  const held: HeldAgent[] = [];
  let appName = '';
  let logFrom = 0;
  let sinceMs = 0;
  return {
    name: 'temporal-stop',
    title: 'stop the Temporal server while approvals are pending',
    expectation:
      'The fleet notices nothing (allowed statements never touch Temporal). A held statement whose approval cannot be ' +
      'reached is refused (fail closed: "approvals are unavailable … it was not run") or keeps waiting; a statement held ' +
      'during the outage is refused. Once Temporal is back and an approver approves, the same statement runs exactly once. ' +
      'Nothing unapproved runs; everything that ran is recorded.',
    cutsSessions: false,
    needs: ['temporal', 'approvals-worker'],
    async inject(ctx) {
      const issuer = await TokenIssuer.fromConfig(ctx.config.identity);
      const ca = readFileSync(ctx.stack.TLS_CA_FILE!);
      appName = `fleet-${ctx.fleet.runId}-held`;
      logFrom = logOffset(ctx.stack.PG_STATEMENT_LOG!);
      sinceMs = Date.now();
      for (let k = 0; k < 3; k++) {
        const subject = `agent:fleet-${ctx.fleet.runId}-held-${k}`;
        const token = await issuer.issue({ subject, groups: ['agents'], ttlMs: 30 * 60_000 });
        // No WHERE: the policy's unbounded-write rule holds it for approval by dba or sre-oncall.
        const sql = `UPDATE fleet_events SET note = 'held ${ctx.fleet.runId} ${k}'`;
        held.push(new HeldAgent({ host: '127.0.0.1', port: Number(ctx.stack.HAPROXY_PG_PORT), subject, token, ca, applicationName: appName, sql }));
      }
      for (const h of held.slice(0, 2)) await h.submit();
      for (const h of held.slice(0, 2)) ctx.say(`${h.o.subject}: ${(await h.ticket(20_000)) ? `waiting for approval ${h.approvalIds.at(-1)}` : `no approval started (${h.outcomes.join('; ') || 'no answer'})`}`);
      await deploy('down', ['--only', 'temporal']);
      ctx.say('Temporal stopped (deploy/local/down --only temporal)');
      await held[2]!.submit();
    },
    async recover(ctx) {
      for (const h of held) ctx.say(`${h.o.subject} during the outage: ${h.outcomes.join('; ') || 'still waiting'}`);
      await deploy('up', ['--only', 'temporal', '--quiet']);
      await waitHealthy(120_000, ['temporal', 'approvals-worker']);
      ctx.say('Temporal back (deploy/local/up --only temporal)');
      await approveAll(ctx, held, Date.now() + 120_000);
      for (const h of held) ctx.say(`${h.o.subject}: ${h.outcomes.join('; ')}`);
      await Promise.all(held.map((h) => h.close()));
    },
    async verify(ctx, run) {
      const problems: string[] = [];
      const log = readLogFrom(ctx.stack.PG_STATEMENT_LOG!, logFrom);
      const executed = parseStatementLog(log, { sinceMs: sinceMs - 1000 }).filter((s) => s.app === appName);
      for (const h of held) {
        const n = executed.filter((s) => s.text === h.o.sql).length;
        if (!h.ran) problems.push(`${h.o.subject}: its approved statement never ran (${h.outcomes.join('; ')})`);
        if (n !== (h.ran ? 1 : 0)) problems.push(`${h.o.subject}: the held statement ran ${n} times upstream (expected ${h.ran ? 1 : 0})`);
      }
      const inputs = { store: ctx.store, sinceMs, subjects: held.map((h) => h.o.subject), postgres: { statementLog: log, upstreamUser: ctx.stack.PG_UPSTREAM_USER ?? 'chaperone_upstream', applicationName: appName } };
      let loss = await checkRun(inputs);
      // The held sessions ended last: give the materializer a moment to catch up.
      for (let i = 0; !loss.ok && i < 30; i++) loss = await sleep(2000).then(() => checkRun(inputs));
      problems.push(...loss.problems.map((p) => `held sessions: ${p}`));
      if (run.report.errors > 0) problems.push(`fleet agents saw ${run.report.errors} errors (expected none): ${JSON.stringify(run.report.errorsByKind)}`);
      return problems;
    },
  };
}

if (isMain(import.meta.url)) faultCommand(temporalStop(), { mix: 'pg=90,blocked=10' });
