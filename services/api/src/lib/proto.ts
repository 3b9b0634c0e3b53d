import { join } from 'node:path';
import { credentials, loadPackageDefinition, type ChannelCredentials, type Client, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoDir } from '@chaperone/schemas';
import type { SessionState } from '@chaperone/store';
import type { WebCounters, WebQueryResult, WebSession, WebVerify } from './web-types.js';

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

/** The session and its counters as the wire carries them, declared once for the console too (web-types.ts). */
export type CountersMsg = WebCounters;
export type SessionMsg = WebSession;

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

export type QueryResponse = WebQueryResult;
export type VerifyResponse = WebVerify;

/** The store's session states are the ones the wire names (checked both ways). */
const _states: [SessionState, WebSession['state']] extends [WebSession['state'], SessionState] ? true : never = true;
void _states;
