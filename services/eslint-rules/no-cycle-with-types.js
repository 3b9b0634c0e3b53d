// A dependency-cycle rule that counts type-only imports too. import-x/no-cycle skips
// `import type` edges (they vanish at run time), but a loop of types still ties two modules
// together both ways and hides a runtime loop behind one `type` keyword (CONVENTIONS.md 2,
// issue #19: exchange.ts ↔ response.ts). Follows every relative import, re-export and
// import() of a file — type-only included — and reports the one that closes a loop.
// Cycles across packages are the project graph's business (@nx/enforce-module-boundaries).
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** file → { mtimeMs, edges }: one parse per file per lint run, re-read when it changes. */
const cache = new Map();

function resolveSpecifier(from, spec) {
  const base = path.resolve(path.dirname(from), spec);
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), base, `${base}.ts`, path.join(base, 'index.ts')];
  return candidates.find((c) => fs.statSync(c, { throwIfNoEntry: false })?.isFile());
}

/** The files `file` imports by a relative specifier. */
function edgesOf(file) {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat) return [];
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === stat.mtimeMs) return hit.edges;
  const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  const edges = importedFiles.filter((f) => f.fileName.startsWith('.')).map((f) => resolveSpecifier(file, f.fileName)).filter(Boolean);
  cache.set(file, { mtimeMs: stat.mtimeMs, edges });
  return edges;
}

/** The path from `start` back to `goal` (breadth-first, so the shortest), or undefined. */
function pathBack(start, goal) {
  const parent = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length) {
    const at = queue.shift();
    for (const next of edgesOf(at)) {
      if (next === goal) {
        const route = [at];
        for (let p = parent.get(at); p !== undefined; p = parent.get(p)) route.unshift(p);
        return route;
      }
      if (!parent.has(next)) parent.set(next, at), queue.push(next);
    }
  }
  return undefined;
}

export const noCycleWithTypes = {
  meta: {
    type: 'problem',
    docs: { description: 'no import cycle between modules, type-only imports included' },
    schema: [],
    messages: { cycle: 'import cycle (type-only imports count): {{route}}' },
  },
  create(context) {
    const file = context.physicalFilename;
    if (!path.isAbsolute(file)) return {};
    const check = (node) => {
      const spec = node.source?.value;
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = resolveSpecifier(file, spec);
      if (!target || target === file) return;
      const route = pathBack(target, file);
      if (!route) return;
      const rel = (f) => path.relative(path.dirname(file), f) || path.basename(f);
      context.report({ node, messageId: 'cycle', data: { route: [file, ...route, file].map(rel).join(' → ') } });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};

export default { rules: { 'no-cycle-with-types': noCycleWithTypes } };
