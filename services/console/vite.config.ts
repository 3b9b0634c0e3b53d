import { defineConfig } from 'vite';

// Served by `chaperone api` under a strict Content-Security-Policy (script-src 'self', style-src
// 'self'): no inline script (no modulepreload polyfill) and no inline style in the build.
export default defineConfig({
  base: '/',
  // A nonce placeholder in index.html (a csp-nonce meta, and on its script and link tags) that
  // the API replaces per response and names in style-src: the terminal's <style> elements carry it.
  html: { cspNonce: 'CHAPERONE_CSP_NONCE' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: true,
  },
  // Keep Vite's cache out of the checkout's node_modules churn.
  cacheDir: `${process.env.HOME ?? '/tmp'}/.cache/chaperone/vite-console`,
});
