import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration } from '@chaperone/config';
import { LiveTranscript, TranscriptJsonWriter, buildTranscript, eventBody, interleaveMcpReplays, jsonStyle, mcpSessionsQuery, mergeMcpTranscripts, type ApiClient, type ReplayEvent, type TimedText } from '@chaperone/api/client';
import { positiveInt, withApi, withApiClient, type ApiOptions } from '../grpc-client.js';
import { errorMessage } from '@chaperone/observability';

interface ReplayOpts extends ApiOptions {
  json?: boolean;
  events?: boolean;
  follow?: boolean;
  speed?: number;
  wait: boolean;
  idleLimit?: number;
  maxRows: number;
  mcpSession?: string;
}

function speed(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number (2 = twice as fast), got "${value}"`);
  return n;
}

function duration(value: string): number {
  try {
    return parseDuration(value, '--idle-limit');
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes and waits for the terminal or pipe to take it, so pacing is real and memory bounded. */
function write(text: string): Promise<void> {
  return new Promise((resolve) => (process.stdout.write(text) ? resolve() : process.stdout.once('drain', resolve)));
}

/** One event as a JSON line: envelope fields plus the decoded body (bytes as hex). */
function eventJson(e: ReplayEvent): string {
  const { payload: _p, avro, ...rest } = e;
  const body = eventBody(e) ?? { undecodable: Buffer.from(avro).toString('hex') };
  // The one JSON style (README "JSON output"): ISO times, JSON fields parsed, bytes as hex.
  return JSON.stringify(jsonStyle({ ...rest, body }));
}

/**
 * One event as the API sent it, payload and Avro as hex; a Frame also lists the protocol
 * messages its payload holds (one forwarded write: `messageType` names only the first).
 */
function rawEventJson(e: ReplayEvent): string {
  const { payload, avro, ...rest } = e;
  const body = e.type === 'Frame' ? eventBody(e) : undefined;
  const messageTypes = body?.type === 'Frame' ? (body.messageTypes.length ? body.messageTypes : [body.messageType]) : undefined;
  return JSON.stringify(jsonStyle({ ...rest, ...(messageTypes ? { messageTypes } : {}), payload: Buffer.from(payload).toString('hex'), avro: Buffer.from(avro).toString('hex') }));
}

/** One gateway session: raw events (--events), a JSON document (--json), or the paced transcript. */
async function replaySession(client: ApiClient, id: string, opts: ReplayOpts): Promise<void> {
  const stream = client.replay(id, { follow: opts.follow ?? false });
  if (opts.events || (opts.json && opts.follow)) {
    for await (const e of stream) {
      if (opts.events) await write(`${rawEventJson(e)}\n`);
      else await write(`${eventJson(e)}\n`);
    }
    return;
  }
  if (opts.json) {
    // One document, written as the events come: a long session's rows are never all held.
    const doc = new TranscriptJsonWriter();
    for await (const e of stream) {
      const text = doc.push(e);
      if (text) await write(text);
    }
    await write(doc.end());
    return;
  }
  // Pace by the recorded timestamps on a terminal (or when a speed is asked for); a live
  // follow is paced by the session itself.
  const pace = !opts.follow && opts.wait && (opts.speed !== undefined || process.stdout.isTTY === true) ? (opts.speed ?? 1) : 0;
  const live = new LiveTranscript({ maxRows: opts.maxRows });
  let shownAt: number | undefined;
  for await (const e of stream) {
    const text = live.push(e);
    if (!text) continue;
    if (pace && shownAt !== undefined) {
      const gap = Math.max(0, (e.tsMicros - shownAt) / 1000 / pace);
      await sleep(opts.idleLimit !== undefined ? Math.min(gap, opts.idleLimit) : gap);
    }
    shownAt = e.tsMicros;
    await write(text);
  }
  await write(live.end());
}

/**
 * `--mcp-session <Mcp-Session-Id>`: the gateway sessions that served one MCP session (found with
 * the SOC's SQL, see mcpSessionsQuery) replayed as one transcript, in time order, with the node
 * that served each call. Printed at once (the sessions are read whole, then interleaved).
 */
async function replayMcpSession(client: ApiClient, mcpSessionId: string, opts: ReplayOpts): Promise<void> {
  let query: string;
  try {
    query = mcpSessionsQuery(mcpSessionId);
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
  const found = await client.query(query, 1000);
  const ids = [...new Set(found.rows.map((r) => r[0]).filter((v): v is string => !!v))];
  if (ids.length === 0) throw new InvalidArgumentError(`no recorded MCP calls with Mcp-Session-Id ${mcpSessionId} (recordings reach the store a few seconds after the calls)`);
  const sessions: ReplayEvent[][] = [];
  for (const id of ids) {
    const events: ReplayEvent[] = [];
    for await (const e of client.replay(id, { follow: false })) events.push(e);
    sessions.push(events);
  }
  if (opts.json) {
    const m = mergeMcpTranscripts(mcpSessionId, sessions.map((events) => buildTranscript(events)));
    const sessionsJson = m.sessions.map((t) => ({ sessionId: t.sessionId, nodeId: t.nodeId, started: t.started, ended: t.ended, events: t.events }));
    await write(`${JSON.stringify(jsonStyle({ mcpSessionId, sessions: sessionsJson, commands: m.commands }))}\n`);
    return;
  }
  const replays = sessions.map((events) => {
    const live = new LiveTranscript({ maxRows: opts.maxRows });
    const texts: TimedText[] = events.map((e) => ({ tsMicros: e.tsMicros, sessionId: e.sessionId, nodeId: e.nodeId, text: live.push(e) }));
    const last = events.at(-1)!;
    return [...texts, { tsMicros: last.tsMicros, sessionId: last.sessionId, nodeId: last.nodeId, text: live.end() }].filter((t) => t.text);
  });
  await write(interleaveMcpReplays(mcpSessionId, replays));
}

/** Registers `chaperone replay <session-id>`. */
export function register(program: Command): void {
  withApi(
    program
      .command('replay')
      .summary('replay a recorded session as a readable transcript, or follow a live one')
      .description(
        'Replay a recorded session as a transcript: who (identity, connection, node, times), then every command with ' +
          'its policy decision and approvals inline and, for PostgreSQL, its result rows or error, as recorded. Rebuilt ' +
          'from the stored Avro events (run `chaperone verify` to check they are untampered). On a terminal the ' +
          'original timing is kept (--speed, --idle-limit, --no-wait); into a pipe it prints at once unless --speed is ' +
          'given. --follow watches a live session straight from Kafka until it ends (Ctrl-C stops watching).',
      )
      .argument('[session-id]', 'the gateway session (omit with --mcp-session)')
      .option('--mcp-session <id>', 'replay one MCP session (its Mcp-Session-Id) as one transcript: every gateway session that served it, in time order, with the node of each call')
      .option('-f, --follow', 'after what is stored, print the live session as it happens, until it ends')
      .option('--speed <n>', 'replay at n times the original pace (0.5 = half speed)', speed)
      .option('--no-wait', 'print everything at once, without the original pauses')
      .option('--idle-limit <duration>', 'shorten longer pauses to this (e.g. 2s)', duration)
      .option('--json', 'print the transcript as one JSON document, written as the events arrive; with --follow, one JSON object per event')
      .option('--events', 'print the raw events instead, one JSON object per line (payload and avro as hex, a frame\'s messageTypes)')
      .option('--max-rows <n>', 'result rows shown per command', positiveInt('--max-rows'), 50)
      .addHelpText(
        'after',
        '\nExamples:\n' +
          '  chaperone replay 0b3c…            # as it happened\n' +
          '  chaperone replay 0b3c… --speed 10 --idle-limit 2s\n' +
          '  chaperone replay 0b3c… --follow   # watch a live session\n' +
          '  chaperone replay 0b3c… --json | jq .commands\n' +
          '  chaperone replay --mcp-session 4f0c…  # one MCP session across gateway nodes',
      ),
  ).action(async (id: string | undefined, opts: ReplayOpts) => {
    if ((id === undefined) === (opts.mcpSession === undefined)) throw new InvalidArgumentError('give one of: a session id, or --mcp-session <Mcp-Session-Id>');
    if (opts.mcpSession !== undefined && (opts.follow || opts.events)) throw new InvalidArgumentError('--mcp-session replays what is stored: no --follow or --events');
    // `replay … | head` closes the pipe early: that is the reader being done, not an error.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
    await withApiClient(opts, async (client) => {
      if (opts.mcpSession !== undefined) await replayMcpSession(client, opts.mcpSession, opts);
      else await replaySession(client, id!, opts);
    });
  });
}
