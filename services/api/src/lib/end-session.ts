import { status } from '@grpc/grpc-js';
import { Kafka, type Producer } from 'kafkajs';
import type { Config } from '@chaperone/config';
import { encodeSessionControl, kafkaClientOptions } from '@chaperone/events';
import type { Logger } from '@chaperone/observability';
import type { Store } from '@chaperone/store';
import { CallRefused, type Caller } from './auth.js';
import { sessionMsg } from './convert.js';
import type { SessionMsg } from './proto.js';
import { errorMessage } from '@chaperone/observability';

/** How long EndSession waits for the session's end to be stored before it answers DEADLINE_EXCEEDED. */
const END_WAIT_MS = 15_000;
const POLL_MS = 250;
/** Longest reason kept (it is recorded in the session's end and logged). */
const MAX_REASON = 500;

/** Publishes orders on the cancel topic every gateway node reads (config kafka.cancelTopic). */
export interface OrderPublisher {
  publish(value: string): Promise<void>;
  close(): Promise<void>;
}

/** The producer, connected on the first order (most API processes never send one). */
export function kafkaOrderPublisher(config: Config, log: Logger): OrderPublisher {
  let producer: Promise<Producer> | undefined;
  const connect = (): Promise<Producer> => {
    const kafka = new Kafka(kafkaClientOptions(config.kafka, { role: 'api-orders' }));
    const p = kafka.producer({ allowAutoTopicCreation: false });
    return p.connect().then(() => p);
  };
  return {
    async publish(value) {
      producer ??= connect().catch((err: unknown) => {
        producer = undefined;
        throw err;
      });
      try {
        await (await producer).send({ topic: config.kafka.cancelTopic, acks: 1, messages: [{ value }] });
      } catch (err) {
        log.error({ err }, 'publishing an end-session order failed');
        throw new CallRefused(status.UNAVAILABLE, `cannot reach Kafka to tell the gateway nodes (${errorMessage(err)})`);
      }
    },
    async close() {
      if (producer) await (await producer.catch(() => undefined))?.disconnect().catch(() => undefined);
    },
  };
}

export interface EndSessionDeps {
  store: Store;
  orders: OrderPublisher;
  log: Logger;
  nodeId: string;
  /** @default END_WAIT_MS */
  waitMs?: number;
}

/**
 * EndSession (admin): tells every gateway node to end an open session; the node holding it seals
 * it with the reason `ended-by-admin` and the error `ended by <admin>: <reason>`, and its agent is
 * told. Answers with the session as stored once its end is, so the caller sees what happened.
 */
export function endSessionCall(d: EndSessionDeps) {
  const waitMs = d.waitMs ?? END_WAIT_MS;
  return async (r: { sessionId: string; reason: string }, caller: Caller | undefined): Promise<SessionMsg> => {
    if (!caller) throw new CallRefused(status.UNAUTHENTICATED, 'ending a session needs a token: the administrator is who the token says');
    const id = r.sessionId.trim();
    if (!id) throw new CallRefused(status.INVALID_ARGUMENT, 'give the id of the session to end');
    const reason = r.reason.trim().slice(0, MAX_REASON);
    const before = await d.store.getSession(id);
    if (before.ended) throw new CallRefused(status.FAILED_PRECONDITION, `session ${id} has already ended (${before.endReason})`);
    const by = caller.identity.subject;
    d.log.warn({ audit: 'end-session', session: id, by, reason, node: before.nodeId }, 'an administrator asked to end a session');
    await d.orders.publish(encodeSessionControl({ kind: 'end-session', sessionId: id, by, reason, from: `api:${d.nodeId}`, at: Date.now() }));
    const deadline = Date.now() + waitMs;
    for (;;) {
      const s = await d.store.getSession(id);
      if (s.ended) {
        d.log.warn({ audit: 'end-session', session: id, by, endReason: s.endReason, node: s.nodeId }, 'session ended');
        return sessionMsg(s);
      }
      if (Date.now() > deadline)
        throw new CallRefused(
          status.DEADLINE_EXCEEDED,
          `asked every gateway node to end session ${id} (held by ${s.nodeId}), but its end is not recorded after ${Math.round(waitMs / 1000)}s: is that node up and the materializer running?`,
        );
      await new Promise((res) => setTimeout(res, POLL_MS));
    }
  };
}


