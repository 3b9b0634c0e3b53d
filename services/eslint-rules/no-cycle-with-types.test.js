// The no-cycle rule against real files: a loop closed by a type-only import is reported (the one
// import-x/no-cycle lets through), a loop-free import is not.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { noCycleWithTypes } from './no-cycle-with-types.js';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const dir = mkdtempSync(join(tmpdir(), 'no-cycle-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const files = {
  // exchange.ts ↔ response.ts as they were: a value import one way, a type-only import back.
  'exchange.ts': "import { relay } from './response.js';\nexport interface Exchange { id: string }\nexport const run = relay;\n",
  'response.ts': "import type { Exchange } from './exchange.js';\nexport const relay = (x: Exchange) => x.id;\n",
  'types.ts': 'export interface Exchange { id: string }\n',
  'uses-types.ts': "import type { Exchange } from './types.js';\nexport const id = (x: Exchange) => x.id;\n",
  // A loop of type-only imports both ways.
  'a.ts': "import type { B } from './b.js';\nexport interface A { b?: B }\n",
  'b.ts': "export type { A as B } from './a.js';\n",
};
for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);

const tester = new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' } });

tester.run('no-cycle-with-types', noCycleWithTypes, {
  valid: [
    { filename: join(dir, 'uses-types.ts'), code: files['uses-types.ts'] },
    { filename: join(dir, 'types.ts'), code: files['types.ts'] },
  ],
  invalid: [
    // The value import that closes a loop whose other half is `import type`.
    { filename: join(dir, 'exchange.ts'), code: files['exchange.ts'], errors: [{ messageId: 'cycle', data: { route: 'exchange.ts → response.ts → exchange.ts' } }] },
    // The type-only import itself is reported too.
    { filename: join(dir, 'response.ts'), code: files['response.ts'], errors: [{ messageId: 'cycle', data: { route: 'response.ts → exchange.ts → response.ts' } }] },
    // Type-only both ways (an `export type … from` re-export counts).
    { filename: join(dir, 'a.ts'), code: files['a.ts'], errors: [{ messageId: 'cycle' }] },
  ],
});
