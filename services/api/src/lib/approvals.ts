import { status } from '@grpc/grpc-js';
import type { ApprovalDecision, ApprovalStatus, ApprovalSummary } from '@chaperone/approvals-contract';
import { CallRefused, type Caller } from './auth.js';

/**
 * The approval workflows as the API needs them. The API is a service and does not depend on the
 * approvals service: `chaperone api` passes the client of @chaperone/approvals in (cli api.ts).
 */
export interface ApprovalsBackend {
  list(opts: { all: boolean; limit: number }): Promise<ApprovalSummary[]>;
  resolveId(idOrPrefix: string): Promise<string>;
  status(id: string): Promise<ApprovalStatus>;
  approve(id: string, answer: ApprovalDecision): Promise<void>;
  deny(id: string, answer: ApprovalDecision): Promise<void>;
}

const NO_BACKEND = 'approvals are not served by this API (it was started without a Temporal client)';

/** The API's approval calls; every answer carries the caller's authenticated subject and groups. */
export function approvalCalls(backend: ApprovalsBackend | undefined) {
  const need = (): ApprovalsBackend => {
    if (!backend) throw new CallRefused(status.UNIMPLEMENTED, NO_BACKEND);
    return backend;
  };
  return {
    async list(r: { all: boolean; limit: number }) {
      return { json: JSON.stringify(await need().list({ all: r.all, limit: r.limit || 50 })) };
    },
    async get(r: { id: string }) {
      const id = await need().resolveId(r.id);
      return { approvalId: id, json: JSON.stringify(await need().status(id)), refused: '' };
    },
    /** Answers as the caller, then reads back what the workflow made of it (a refusal is not an error to Temporal). */
    async decide(r: { id: string; approve: boolean; reason: string }, caller: Caller | undefined) {
      if (!caller) throw new CallRefused(status.UNAUTHENTICATED, 'deciding an approval needs a token: the approver is who the token says');
      const b = need();
      const id = await b.resolveId(r.id);
      const before = await b.status(id);
      if (before.state !== 'PENDING') throw new CallRefused(status.FAILED_PRECONDITION, `approval ${id} is already ${before.state.toLowerCase()}`);
      const answer: ApprovalDecision = { approver: caller.identity.subject, groups: caller.identity.groups, via: 'api', ...(r.reason ? { reason: r.reason } : {}) };
      await (r.approve ? b.approve(id, answer) : b.deny(id, answer));
      let after = before;
      for (let i = 0; i < 50; i++) {
        after = await b.status(id).catch(() => after);
        const refused = after.refused.length > before.refused.length;
        const counted = (after.answers?.length ?? 0) > (before.answers?.length ?? 0);
        if (refused || counted || after.state !== 'PENDING') break;
        await new Promise((res) => setTimeout(res, 100));
      }
      const refusal = after.refused.length > before.refused.length ? after.refused.at(-1) : undefined;
      return { approvalId: id, json: JSON.stringify(after), refused: refusal?.why ?? '' };
    },
  };
}
