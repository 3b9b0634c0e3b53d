/** TypeScript view of schemas/avro/session-event.avsc (the `body` union is a tagged union here). */

export interface Identity {
  subject: string;
  issuer: string;
  groups: string[];
  tokenId: string;
  claimsJson: string;
}

export type Direction = 'CLIENT_TO_SERVER' | 'SERVER_TO_CLIENT';

export interface MaskNote {
  detector: string;
  location: string;
  count: number;
}

export interface SessionStarted {
  type: 'SessionStarted';
  identity: Identity;
  connection: string;
  protocol: string;
  clientAddress: string;
  tls: boolean;
  attributesJson: string;
}

export interface Frame {
  type: 'Frame';
  direction: Direction;
  messageType: string;
  bytes: Buffer;
  redacted: boolean;
  masks: MaskNote[];
  /** v2: every protocol message in `bytes`, in order; empty in v1 events (one message, `messageType`). */
  messageTypes: string[];
  /** v2: where each message of `messageTypes` starts in `bytes`. */
  offsets: number[];
  /**
   * v3: the command each run of messages belongs to (0: none), by the protocol's own order;
   * empty (or absent when built) for a frame not attributed. Runs, not one id per message, so a
   * result of a thousand rows costs one entry.
   */
  commandIds?: number[];
  /** v3: index in `messageTypes` where each run of `commandIds` starts (the first at 0). */
  commandStarts?: number[];
}

/** One protocol message inside a Frame's bytes. */
export interface FrameMessage {
  type: string;
  /** Start and end (exclusive) in the frame's bytes. */
  start: number;
  end: number;
}

export interface Command {
  type: 'Command';
  commandId: number;
  protocol: string;
  action: string;
  targets: string[];
  text: string;
  textSha256: string;
  detailsJson: string;
  params: (string | null)[];
}

export type DecisionResult = 'ALLOW' | 'DENY' | 'APPROVAL' | 'MASK';

export interface Decision {
  type: 'Decision';
  commandId: number;
  result: DecisionResult;
  reasons: string[];
  policyRevision: string;
  evalMicros: number;
  outputJson: string;
}

export interface ApprovalRequested {
  type: 'ApprovalRequested';
  commandId: number;
  approvalId: string;
  bindingSha256: string;
  approverGroups: string[];
  quorum: number;
  ttlMs: number;
}

export type ApprovalOutcome = 'APPROVED' | 'DENIED' | 'EXPIRED' | 'REUSED';

export interface ApprovalResolved {
  type: 'ApprovalResolved';
  commandId: number;
  approvalId: string;
  outcome: ApprovalOutcome;
  approvers: string[];
  reason: string;
}

export interface Counters {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  commands: number;
  denied: number;
}

export interface SessionEnded {
  type: 'SessionEnded';
  reason: string;
  error: string;
  counters: Counters;
  finalHash: Buffer;
  signature: Buffer;
  sealedBy: string;
  complete: boolean;
}

export type EventBody =
  | SessionStarted
  | Frame
  | Command
  | Decision
  | ApprovalRequested
  | ApprovalResolved
  | SessionEnded;

export type EventType = EventBody['type'];

export interface SessionEvent<B extends EventBody = EventBody> {
  sessionId: string;
  seq: number;
  tsMicros: number;
  nodeId: string;
  prevHash: Buffer;
  body: B;
}
