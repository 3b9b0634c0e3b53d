import type { Command } from 'commander';
import type { DefinitionChange, ToolView } from '@chaperone/mcp-tools';
import { printJson, printTable, UserError } from '../context.js';
import { withApi, withApiClient, type ApiOptions } from '../grpc-client.js';

interface Common extends ApiOptions {
  json?: boolean;
}

const short = (sha: string) => sha.slice(0, 12);
const when = (micros: number | null) => (micros ? new Date(micros / 1000).toISOString().slice(0, 19) : '');

async function one(opts: Common, server: string, tool: string): Promise<ToolView> {
  const rows = (await withApiClient(opts, (c) => c.listMcpTools({ server, tool }))) as ToolView[];
  const v = rows[0];
  if (!v) throw new UserError(`no tool ${tool} of the MCP server ${server} in the registry; list them with \`chaperone mcp tools ls\``, 3);
  return v;
}

/** A field's before/after as indented, pretty JSON lines marked - and +. */
function formatChange(c: DefinitionChange): string {
  const lines = (v: unknown, mark: string) =>
    (typeof v === 'string' ? v : JSON.stringify(v, null, 2) ?? 'null')
      .split('\n')
      .map((l) => `  ${mark} ${l}`)
      .join('\n');
  return `${c.field}:\n${lines(c.before, '-')}\n${lines(c.after, '+')}`;
}

function formatDiff(v: ToolView): string {
  const head = [
    `tool      ${v.tool} on ${v.server} (${v.status})`,
    `pinned    sha256:${v.pinned.sha256}${v.pinned.acceptedBy ? ` accepted by ${v.pinned.acceptedBy} at ${when(v.pinned.acceptedMicros)}` : ` first seen ${when(v.pinned.firstSeenMicros)}`}`,
    `current   sha256:${v.current.sha256} seen ${when(v.current.seenMicros)}`,
  ];
  if (v.scan.findings.length > 0) head.push(`scan      ${v.scan.suspicious ? 'SUSPICIOUS' : 'hints'} (score ${v.scan.score}): ${v.scan.findings.map((f) => `${f.rule} in ${f.field}: "${f.excerpt}"`).join('; ')}`);
  const body = v.changes.length === 0 ? 'no change: the server shows the pinned definition' : v.changes.map(formatChange).join('\n');
  return `${head.join('\n')}\n\n${body}\n`;
}

/** `chaperone mcp tools ls`: one line per tool, or the registry entries as JSON. */
async function listTools(opts: Common & { server?: string; changed?: boolean }): Promise<void> {
  const rows = (await withApiClient(opts, (c) => c.listMcpTools({ ...(opts.server ? { server: opts.server } : {}), changedOnly: opts.changed ?? false }))) as ToolView[];
  if (opts.json) return printJson(rows);
  printTable(
    rows.map((v) => ({
      SERVER: v.server,
      TOOL: v.tool,
      STATUS: v.status,
      PINNED: short(v.pinned.sha256),
      CURRENT: short(v.current.sha256),
      CHANGED: v.changes.map((c) => c.field).join(','),
      SCAN: v.scan.suspicious ? `suspicious: ${[...new Set(v.scan.findings.map((f) => f.rule))].join(',')}` : '',
      'SEEN (UTC)': when(v.current.seenMicros),
    })),
  );
}

/** Registers `chaperone mcp tools ls|diff|accept`. */
export function register(program: Command): void {
  const mcp = program.command('mcp').summary('MCP servers behind the gateway: pinned tool definitions');
  const tools = mcp
    .command('tools')
    .summary('list, compare and accept the pinned definitions of MCP tools')
    .description(
      'The gateway pins the first definition (description, schemas, annotations) of every tool an MCP server lists, ' +
        'in a registry all gateway nodes share (the compacted Kafka topic kafka.mcpToolsTopic). A tool the server later ' +
        'describes otherwise is "changed": the change is recorded in the session that saw it, and the default policy blocks ' +
        'the tool (hidden from tools/list, calls refused) until an admin accepts the new definition here. Each definition ' +
        'is also scanned for instructions aimed at the model (a policy input). These commands go through the Chaperone API: ' +
        'listing needs the soc or admin role, accepting admin.',
    );

  withApi(tools.command('ls'))
    .description('List the tools of every MCP server (or one) with their status: pinned, or changed since pinned')
    .option('--server <name>', 'only this MCP server (connection name)')
    .option('--changed', 'only tools changed since they were pinned')
    .option('--json', 'print the registry entries as JSON (pinned and current definitions, changes, scan)')
    .action(listTools);

  withApi(tools.command('diff'))
    .description("Show how a tool's current definition differs from its pin, field by field, and what the scan found")
    .argument('<server>', 'MCP server (connection name)')
    .argument('<tool>', 'tool name')
    .option('--json', 'print the registry entry as JSON')
    .action(async (server: string, tool: string, opts: Common) => {
      const v = await one(opts, server, tool);
      if (opts.json) printJson(v);
      else process.stdout.write(formatDiff(v));
    });

  withApi(tools.command('accept'))
    .description("Accept a tool's current definition as its new pin (the tool is no longer blocked); recorded with your identity")
    .argument('<server>', 'MCP server (connection name)')
    .argument('<tool>', 'tool name')
    .option('--sha256 <hex>', 'accept only this definition (as `diff` showed it); refused if the server changed it again since')
    .option('--reason <text>', 'a note recorded with the acceptance')
    .option('--json', 'print the registry entry after the acceptance as JSON')
    .addHelpText('after', '\nExample:\n  chaperone mcp tools diff records search && chaperone mcp tools accept records search --sha256 3f2a… --reason "v2.1 release notes"\n')
    .action(async (server: string, tool: string, opts: Common & { sha256?: string; reason?: string }) => {
      if (opts.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(opts.sha256)) throw new UserError('--sha256 takes the 64 hex digits `chaperone mcp tools diff` shows');
      const v = (await withApiClient(opts, (c) => c.acceptMcpTool(server, tool, { ...(opts.sha256 ? { sha256: opts.sha256 } : {}), ...(opts.reason ? { reason: opts.reason } : {}) }))) as ToolView;
      if (opts.json) printJson(v);
      else process.stdout.write(`${server}/${tool}: sha256:${v.pinned.sha256} accepted by ${v.pinned.acceptedBy ?? '?'}; ${v.status}\n`);
    });
}
