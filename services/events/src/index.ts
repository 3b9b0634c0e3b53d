/**
 * @module @chaperone/events
 * Session events (schemas/avro/session-event.avsc): Avro single-object codec with writer-schema
 * resolution by fingerprint, the Kafka record of one publish (a batch of one session's events),
 * the per-session hash chain, Ed25519 seals, and the one set of kafkajs client options every service
 * uses (kafkaClientOptions: Nagle off, retries, logs into pino). Importing it also fixes kafkajs' idle request-queue
 * timer loop (lib/kafkajs-request-queue.ts) in every service that talks to Kafka.
 */
export * from './lib/types.js';
export { encodeEvent, encodeEventBody, encodeRecord, decodeEvent, decodeRecord, decodeEventBody, frameBody, frameMessageCommands, frameMessages, messagesFrame, singleFrame, splitSingleObject } from './lib/codec.js';
export { SessionChain, chainHash, signSeal, verifySeal, loadPrivateKey, loadPublicKey, nowMicros, ZERO_HASH } from './lib/chain.js';
export type { ChainedEvent } from './lib/chain.js';
export { rabinFingerprint } from './lib/fingerprint.js';
export { sessionHash, sessionPartition } from './lib/partition.js';
export { EventDecodeError } from './lib/errors.js';
export { kafkaRequestQueue } from './lib/kafkajs-request-queue.js';
export { ensureTopic, kafkaClientOptions, kafkaLogCreator, noDelaySocketFactory, type KafkaClientSettings, type KafkaClientTuning } from './lib/kafka-client.js';
export { writerFingerprint, batchFingerprint } from './lib/schema.js';
export { ENDED_BY_ADMIN, encodeSessionControl, decodeSessionControl } from './lib/session-control.js';
export type { CancelOrder, EndSessionOrder, SessionControlOrder } from './lib/session-control.js';
