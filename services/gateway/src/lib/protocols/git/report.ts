import { FLUSH_PKT, pktLine } from './pktline.js';

/**
 * A receive-pack answer that rejects every ref update with a reason (gitprotocol-pack
 * "Report Status"), so `git push` prints `! [remote rejected] main -> main (reason)` instead of
 * a bare HTTP error. With side-band(-64k) the report travels on band 1 and the reason is also
 * shown as a `remote:` line on band 2.
 */
export function encodeRejection(refs: readonly string[], reason: string, capabilities: readonly string[]): Buffer {
  const oneLine = reason.replace(/[\r\n]+/g, ' ').slice(0, 900);
  const report = Buffer.concat([pktLine('unpack ok\n'), ...refs.map((r) => pktLine(`ng ${r} ${oneLine}\n`)), FLUSH_PKT]);
  const band = capabilities.includes('side-band-64k') ? 65515 : capabilities.includes('side-band') ? 995 : 0;
  if (band === 0) return report;
  const out: Buffer[] = [pktLine(Buffer.concat([Buffer.from([2]), Buffer.from(`${oneLine}\n`)]))];
  for (let i = 0; i < report.length; i += band) out.push(pktLine(Buffer.concat([Buffer.from([1]), report.subarray(i, i + band)])));
  out.push(FLUSH_PKT);
  return Buffer.concat(out);
}
