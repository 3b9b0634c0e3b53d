import { defineConfig } from 'vite';

// Served by `chaperone api` under a strict Content-Security-Policy (script-src 'self', style-src
// 'self'): no inline script (no modulepreload polyfill) and no inline style in the build.
export default defineConfig({
  base: '/',
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
