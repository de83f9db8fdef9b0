#!/usr/bin/env node
// Compiles tally's wire schema (rpc/tally.capnp), exactly as it is in the repository, with the
// generator of capnp-es (the npm Cap'n Proto implementation, pinned in package.json): an outside
// implementation must accept the schema unmodified (SPEC section 5). capnp-es runs `capnpc -o-`
// on the schema and generates TypeScript, JavaScript and declarations into a temporary directory.
//
// Usage: node check.js [SCHEMA]. Prints "ok: ..." and exits 0 when the generator succeeded and
// wrote the files; prints what it said and exits 1 otherwise; exits 77 (skipped) when
// node_modules is missing (scripts/test runs `npm ci` here first).
'use strict';

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const schema = path.resolve(process.argv[2] || path.join(__dirname, '..', '..', 'rpc', 'tally.capnp'));
// Inside this folder, so the generated TypeScript resolves capnp-es from node_modules here.
const out = fs.mkdtempSync(path.join(__dirname, '.out-'));
const bin = path.join(__dirname, 'node_modules', 'capnp-es', 'dist', 'compiler', 'capnpc-js.mjs');
const SKIP = 77; // ctest's SKIP_RETURN_CODE for this test

if (!fs.existsSync(bin)) {
  console.log(`skipped: no ${bin}; run \`npm ci --prefix tests/schema_check\``);
  process.exit(SKIP);
}

try {
  // stdin closed: capnp-es reads a CodeGeneratorRequest from stdin when one is there.
  const r = spawnSync(process.execPath, [bin, schema, `-ots,js,dts:${out}`, `-I${path.dirname(schema)}`],
                      { cwd: __dirname, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const said = `${r.stdout || ''}${r.stderr || ''}`;
  // capnp-es writes each file under the schema's own path inside `out`.
  const written = fs.readdirSync(out, { recursive: true }).map((f) => path.basename(String(f)));
  const want = ['tally.ts', 'tally.js', 'tally.d.ts'];
  const missing = want.filter((f) => !written.includes(f));
  // capnp-es prints some failures and still exits 0: any "error" in its output fails the check.
  if (r.status !== 0 || r.error || missing.length > 0 || /error/i.test(said)) {
    process.stdout.write(said);
    console.error(`capnp-es could not compile ${schema} (exit ${r.status}` +
                  `${missing.length ? `, missing ${missing.join(' ')}` : ''})`);
    process.exit(1);
  }
  console.log(`ok: capnp-es compiled ${schema} into ${want.join(', ')}`);
} finally {
  fs.rmSync(out, { recursive: true, force: true });
}
