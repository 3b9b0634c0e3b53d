import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ApprovalDecision, ApprovalStatus } from '@chaperone/approvals-contract';

// Shared by workflows.ts (handlers) and client.ts (senders) so the names cannot drift apart.
// The names are part of recorded histories: renaming one breaks replay of running workflows.
// Workflow type names and ids are in @chaperone/approvals-contract (the gateway starts runs too);
// this file stays in the workflow sandbox's import graph, so it imports no values from there
// (the contract's binding uses node:crypto).

export const approveSignal = defineSignal<[ApprovalDecision]>('approve');
export const denySignal = defineSignal<[ApprovalDecision]>('deny');
export const statusQuery = defineQuery<ApprovalStatus>('status');
