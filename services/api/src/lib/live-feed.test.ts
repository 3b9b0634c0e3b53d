import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import { createLogger } from '@chaperone/observability';
import { testConfig } from '@chaperone/store/testing';
import { ANY_SESSION, kafkaLiveFeed, type LiveFeed } from './live-feed.js';
import { serveLive } from './web-live.js';

const log = createLogger({ name: 'live-feed-test', level: 'error' });

async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An HTTP server whose one route is a live stream over `read`, as web.ts serves /api/v1/live/…. */
async function liveServer(read: () => Promise<unknown>, feed: { source: LiveFeed; sessionId: string } | undefined): Promise<Server> {
  const server = createServer((req, res) => void serveLive(req, res, { read, headers: {}, log, pollMs: 200, settleMs: 1000, ...(feed ? { feed } : {}) }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return server;
}

/** Opens the stream and collects its `update` events' data. */
function listen(server: Server): { updates: string[]; res: Promise<IncomingMessage> } {
  const updates: string[] = [];
  const res = new Promise<IncomingMessage>((resolve) =>
    get({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/' }, (r) => {
      let buf = '';
      r.on('data', (c: Buffer) => {
        buf += c.toString();
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const m = /^event: update\ndata: (.*)$/m.exec(buf.slice(0, i));
          if (m) updates.push(m[1]!);
          buf = buf.slice(i + 2);
        }
      });
      resolve(r);
    }),
  );
  return { updates, res };
}

// The console's live streams fed from the sessions topic on the local stack's Kafka (a topic of the test's own).
describe('live feed', () => {
  const base = testConfig();
  const config = { kafka: { ...base.kafka, topic: `chaperone.live-feed-test.${randomBytes(4).toString('hex')}` } };
  const kafka = new Kafka({ clientId: 'live-feed-test', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  const publish = (sessionId: string) => producer.send({ topic: config.kafka.topic, messages: [{ key: sessionId, value: Buffer.from('x') }] });

  before(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: config.kafka.topic, numPartitions: 3 }], waitForLeaders: true });
    await producer.connect();
  });
  after(async () => {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [config.kafka.topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('tells the watchers of a session and of any session, from one consumer for all of them, and stops after the last leaves', async () => {
    const feed = kafkaLiveFeed(config, log, { lingerMs: 0 });
    const seen = { s1: 0, s2: 0, any: 0 };
    const unwatch = [
      feed.watch('s1', () => seen.s1++),
      feed.watch('s2', () => seen.s2++),
      feed.watch(ANY_SESSION, () => seen.any++),
      // Many streams of one session: still one consumer.
      ...Array.from({ length: 20 }, () => feed.watch('s1', () => undefined)),
    ];
    try {
      await until('the feed live', () => feed.live);
      const consumers = await until('its consumer group', async () => {
        const { groups } = await admin.listGroups();
        const live = groups.filter((g) => g.groupId.startsWith('chaperone-live-')).map((g) => g.groupId);
        const described = await admin.describeGroups(live);
        const ours = described.groups.filter((g) =>
          g.members.some((m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[config.kafka.topic] !== undefined),
        );
        return ours.length ? ours : undefined;
      });
      assert.equal(consumers.length, 1, 'one consumer group for every watcher');
      assert.equal(consumers[0]!.members.length, 1);
      const before = { ...seen };
      await publish('s1');
      await until('s1 and any told', () => seen.s1 > before.s1 && seen.any > before.any);
      await publish('s2');
      await until('s2 told', () => seen.s2 > before.s2);
      assert.equal(seen.s1, before.s1 + 1, 's1 is not told of s2');
      assert.equal(seen.any, before.any + 2);
    } finally {
      for (const u of unwatch) u();
    }
    await until('the consumer stopped', () => !feed.live);
    await feed.close();
  });

  it('a live session stream re-reads the store only when Kafka shows the session changed', async () => {
    const feed = kafkaLiveFeed(config, log, { lingerMs: 0 });
    let reads = 0;
    let state = 'v1';
    const server = await liveServer(() => {
      reads++;
      return Promise.resolve({ state });
    }, { source: feed, sessionId: 's3' });
    const { updates, res } = listen(server);
    try {
      await until('the first answer', () => updates.length === 1);
      await until('the feed live', () => feed.live);
      // Settled after the feed turned live: no more reads while nothing happens.
      await new Promise((r) => setTimeout(r, 2500));
      const idle = reads;
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(reads, idle, 'no store reads while Kafka shows nothing (pollMs is 200)');
      state = 'v2';
      await publish('s3');
      await until('the change pushed', () => updates.includes('{"state":"v2"}'));
      await publish('s-other');
      await new Promise((r) => setTimeout(r, 2500));
      const after = reads;
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(reads, after, 'another session\'s records do not wake it');
    } finally {
      (await res).destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await feed.close();
    }
  });

  it('falls back to reading the store every poll while Kafka cannot be followed', async () => {
    const feed = kafkaLiveFeed({ kafka: { ...config.kafka, brokers: ['127.0.0.1:1'] } }, log, { lingerMs: 0 });
    let reads = 0;
    const server = await liveServer(() => Promise.resolve({ n: ++reads }), { source: feed, sessionId: 's4' });
    const { updates, res } = listen(server);
    try {
      await until('polled updates', () => updates.length >= 4);
      assert.equal(feed.live, false);
    } finally {
      (await res).destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await feed.close();
    }
  });
});
