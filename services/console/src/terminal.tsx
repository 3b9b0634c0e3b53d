import { useEffect, useRef } from 'preact/hooks';
import { Terminal as XTerm } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import type { TunnelChunk } from '@chaperone/api/web-types';

/**
 * The per-response nonce the API puts in the CSP's style-src for this page (Vite's `html.cspNonce`
 * meta, its placeholder replaced by web.ts). Read from the `nonce` property: browsers hide the
 * attribute once the page has loaded.
 */
function styleNonce(): string {
  return document.querySelector<HTMLMetaElement>('meta[property="csp-nonce"]')?.nonce ?? '';
}

/** `document.createElement`, except that a `<style>` element carries the nonce (set before it is inserted, as CSP needs). */
const nonceCreateElement =
  (nonce: string) =>
  (tag: string, options?: ElementCreationOptions): HTMLElement => {
    // The prototype's own method, called on the page's document: an override on the document itself is never re-entered.
    const el = Document.prototype.createElement.call(document, tag, options);
    if (nonce && tag.toLowerCase() === 'style') el.setAttribute('nonce', nonce);
    return el;
  };

/**
 * The document xterm's renderer creates its elements with (its `documentOverride` option): the
 * page's own, except that the `<style>` elements it makes carry the nonce, so the strict CSP takes
 * them and nothing else on the page gains a way to add styles.
 */
function nonceDocument(nonce: string): Document {
  const createElement = nonceCreateElement(nonce);
  return new Proxy(document, {
    get(target, key) {
      if (key === 'createElement') return createElement;
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/**
 * Opens the terminal in `el`. xterm 6 makes its scrollbar's `<style>` element with the page's
 * document whatever `documentOverride` says, during `open()`: for that synchronous call alone the
 * page's createElement stamps the nonce too, and is put back before anything else can run.
 */
function openWithNonce(t: XTerm, el: HTMLElement, nonce: string): void {
  const own = Object.getOwnPropertyDescriptor(document, 'createElement');
  Object.defineProperty(document, 'createElement', { value: nonceCreateElement(nonce), configurable: true, writable: true });
  try {
    t.open(el);
  } finally {
    if (own) Object.defineProperty(document, 'createElement', own);
    else delete (document as { createElement?: unknown }).createElement;
  }
}

const decode = (b64: string): Uint8Array => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const enc = new TextEncoder();
/** stderr in red, typed input dim: the colours a reader tells the channels apart by (the text says it too). */
const WRAP: Record<string, [Uint8Array, Uint8Array]> = {
  stderr: [enc.encode('\x1b[31m'), enc.encode('\x1b[0m')],
  stdin: [enc.encode('\x1b[2m'), enc.encode('\x1b[0m')],
};
/** Channels that are the terminal's content (error carries the exit status, resize the window size). */
const SHOWN = new Set(['stdout', 'stderr', 'data']);

/**
 * An exec session's tunnel replayed in xterm.js (read-only), up to `pos` in recorded time: moving
 * forward writes the chunks in between, moving back redraws from the start.
 */
export function TerminalReplay({ chunks, pos, showStdin, label }: { chunks: TunnelChunk[]; pos: number; showStdin: boolean; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const term = useRef<XTerm | undefined>(undefined);
  const written = useRef(0);
  const withStdin = useRef(showStdin);
  useEffect(() => {
    const nonce = styleNonce();
    const t = new XTerm({ disableStdin: true, convertEol: true, rows: 16, cols: 100, scrollback: 5000, fontSize: 13, documentOverride: nonceDocument(nonce) });
    openWithNonce(t, box.current!, nonce);
    term.current = t;
    return () => {
      t.dispose();
      term.current = undefined;
      written.current = 0;
    };
  }, []);
  useEffect(() => {
    const t = term.current;
    if (!t) return;
    const upTo = chunks.findIndex((c) => c.tsMicros > pos);
    const n = upTo < 0 ? chunks.length : upTo;
    if (n < written.current || withStdin.current !== showStdin) {
      t.reset();
      written.current = 0;
      withStdin.current = showStdin;
    }
    for (const c of chunks.slice(written.current, n)) {
      if (!SHOWN.has(c.channel) && !(showStdin && c.channel === 'stdin')) continue;
      const [on, off] = WRAP[c.channel] ?? [undefined, undefined];
      if (on) t.write(on);
      t.write(decode(c.data));
      if (off) t.write(off);
    }
    written.current = n;
  }, [chunks, pos, showStdin]);
  return <div class="terminal" ref={box} role="img" aria-label={label} data-chunks={chunks.length} />;
}

/** The tunnel as plain text by channel, for screen readers and copying. */
export function TunnelText({ chunks }: { chunks: TunnelChunk[] }) {
  const dec = new TextDecoder();
  return (
    <details class="tunnel-text">
      <summary>Terminal data as text, by channel</summary>
      <pre>{chunks.map((c) => `${c.channel.padEnd(6)} │ ${dec.decode(decode(c.data)).replace(/\r?\n$/, '')}`).join('\n')}</pre>
    </details>
  );
}
