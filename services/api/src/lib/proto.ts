import { join } from 'node:path';
import { credentials, loadPackageDefinition, type ChannelCredentials, type Client, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoDir } from '@chaperone/schemas';
import type { SessionState } from '@chaperone/store';

/** proto-loader options shared by server and client: camelCase fields, longs as numbers, defaults filled. */
const LOADER_OPTIONS = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true } as const;

type ClientCtor = new (address: string, creds: ChannelCredentials, options?: object) => Client;

let cached: { service: ServiceDefinition; Client: ClientCtor } | undefined;

/** The `chaperone.v1.Chaperone` service from schemas/proto/chaperone.proto, loaded once. */
export function chaperoneService(): { service: ServiceDefinition; Client: ClientCtor } {
  if (!cached) {
    const def = loadSync(join(protoDir, 'chaperone.proto'), LOADER_OPTIONS);
    const pkg = loadPackageDefinition(def) as unknown as { chaperone: { v1: { Chaperone: ClientCtor & { service: ServiceDefinition } } } };
    const ctor = pkg.chaperone.v1.Chaperone;
    cached = { service: ctor.service, Client: ctor };
  }
  return cached;
}

/** Largest message the server sends and the client takes (a replayed event carries its frame twice: payload and Avro). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export const insecure = (): ChannelCredentials => credentials.createInsecure();

// Message shapes as proto-loader produces them (chaperone.proto, camelCase).

export interface ListSessionsRequest {
  subject: string;
  connection: string;
  sinceMicros: number;
  limit: number;
  untilMicros: number;
  verdict: string;
  state: string;
}

/** schemas/proto Counters: a message is one protocol message, a frame one recorded Frame event (a forwarded write). */
export interface CountersMsg {
  framesIn: number;
  framesOut: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  commands: number;
  denied: number;
}

export interface SessionMsg {
  sessionId: string;
  subject: string;
  issuer: string;
  groups: string[];
  tokenId: string;
  connection: string;
  protocol: string;
  clientAddress: string;
  tls: boolean;
  attributesJson: string;
  nodeId: string;
  startedMicros: number;
  ended: boolean;
  endedMicros: number;
  endReason: string;
  endError: string;
  counters: CountersMsg;
  lastSeq: number;
  /** @deprecated the same as sealedHash */
  finalHash: string;
  /** Hex hash the seal signs (of the event before SessionEnded); empty while open. */
  sealedHash: string;
  sealedBy: string;
  complete: boolean;
  sealed: boolean;
  state: SessionState;
}

export interface ReplayRequest {
  sessionId: string;
  fromSeq: number;
  follow: boolean;
}

export interface EventMsg {
  sessionId: string;
  seq: number;
  tsMicros: number;
  nodeId: string;
  type: string;
  direction: string;
  messageType: string;
  commandId: number;
  payload: Buffer;
  redacted: boolean;
  avro: Buffer;
  hash: string;
  prevHash: string;
}

export interface QueryRequest {
  sql: string;
  maxRows: number;
}

export interface QueryResponse {
  columns: { name: string; type: string }[];
  rows: { cells: { text: string; isNull: boolean }[] }[];
  truncated: boolean;
}

export interface VerifyResponse {
  sessionId: string;
  status: 'intact' | 'incomplete' | 'broken';
  hasFirstBadSeq: boolean;
  firstBadSeq: number;
  detail: string;
  events: number;
  lastSeq: number;
  sealedBy: string;
  /** Hex hash of the newest event checked (SessionEnded's own when ended). */
  headHash: string;
  /** Hex hash the seal signs; empty when the gateway did not seal. */
  sealedHash: string;
  sealedIncomplete: boolean;
}
