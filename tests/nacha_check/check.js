#!/usr/bin/env node
// Checks a NACHA file tally wrote, independently of tally's own code: the records are parsed by
// the npm package @ach/ach (pinned in package.json), and every count, entry hash and total of
// the batch controls and the file control is recomputed from the parsed entries, then compared
// with what the file says and with the package's own control calculation.
//
// Usage: node check.js FILE. Prints "ok: ..." and exits 0 when everything agrees; prints every
// mismatch and exits 1 otherwise; exits 2 when the file cannot be read.
'use strict';

const fs = require('fs');
const { Readable } = require('stream');
const AchParser = require('@ach/ach/lib/transforms/ach-parser');
const calculate = require('@ach/ach/lib/api/calculate');

const RECORD_CHARS = 94;
const BLOCKING_FACTOR = 10;
const HASH_MOD = 10n ** 10n; // entry hashes keep their low 10 digits

const problems = [];
function expect(ok, what) {
  if (!ok) problems.push(what);
}
function same(got, want, what) {
  expect(String(got) === String(want), `${what}: the file says ${got}, recomputed ${want}`);
}

// An ABA routing number's check digit: 3, 7, 1 weights; the sum is a multiple of 10.
function abaOk(nine) {
  if (!/^[0-9]{9}$/.test(nine)) return false;
  const w = [3, 7, 1];
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(nine[i]) * w[i % 3];
  return sum % 10 === 0;
}

// Checks on the raw text the parser does not make: record length, characters, blocking, record
// order, padding. Returns the number of records before the padding.
function checkRecords(text) {
  expect(text.endsWith('\n'), 'the file does not end with a newline');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((l, i) => {
    expect(l.length === RECORD_CHARS, `record ${i + 1} has ${l.length} characters, not 94`);
    expect(/^[\x20-\x7e]*$/.test(l), `record ${i + 1} has a character outside printable ASCII`);
  });
  expect(lines.length % BLOCKING_FACTOR === 0,
         `${lines.length} records are not a multiple of ${BLOCKING_FACTOR}`);
  // 1 (5 6+ 8)+ 9 then 9999... padding.
  const types = lines.map((l) => (l === '9'.repeat(RECORD_CHARS) ? 'P' : l[0])).join('');
  expect(/^1(56+8)+9P*$/.test(types), `record types ${types} are not 1 (5 6+ 8)+ 9 padding`);
  const control = types.indexOf('9');
  return { total: lines.length, beforePadding: control + 1 };
}

function parse(text) {
  return new Promise((resolve, reject) => {
    const parser = new AchParser();
    const files = [];
    parser.on('data', (f) => files.push(f));
    parser.on('end', () => resolve(files));
    parser.on('error', reject);
    Readable.from([text]).pipe(parser);
  });
}

function isCredit(code) {
  return ['2', '3', '4'].includes(code[1]);
}
function isDebit(code) {
  return ['7', '8', '9'].includes(code[1]);
}

async function main() {
  const path = process.argv[2];
  if (!path) {
    console.error('usage: node check.js FILE');
    process.exit(2);
  }
  let text;
  try {
    text = fs.readFileSync(path, 'latin1');
  } catch (e) {
    console.error(`cannot read ${path}: ${e.message}`);
    process.exit(2);
  }
  const counts = checkRecords(text);
  const files = await parse(text);
  expect(files.length === 1, `the parser found ${files.length} files, not 1`);
  const ach = files[0] || { batches: [] };
  const file = ach.file || {};
  const footer = file.footer || {};

  let entries = 0n;
  let hash = 0n;
  let credit = 0n;
  let debit = 0n;
  let lastTrace = -1n;
  ach.batches.forEach((b, bi) => {
    const where = `batch ${bi + 1}`;
    const f = b.footer || {};
    let n = 0n;
    let h = 0n;
    let c = 0n;
    let d = 0n;
    same(b.num, bi + 1, `${where} header: batch number`);
    same(f.num, b.num, `${where} control: batch number`);
    same(f.serviceClassCode, b.serviceClassCode, `${where} control: service class`);
    same(f.companyId, b.companyId, `${where} control: company id`);
    same(f.originatingDFIIdentification, b.originatingDFIIdentification, `${where} control: ODFI`);
    expect(['PPD', 'CCD'].includes(b.entryClassCode), `${where}: SEC code ${b.entryClassCode}`);
    for (const e of b.entries) {
      const trace = String(e.traceNumber).padStart(15, '0');
      const rdfi = String(e.receivingDFIIdentification).padStart(8, '0');
      n += 1n + (e.addenda ? 1n : 0n) + BigInt(e.addendas ? e.addendas.length : 0);
      h += BigInt(e.receivingDFIIdentification);
      if (isCredit(e.transactionCode)) c += BigInt(e.amount);
      else if (isDebit(e.transactionCode)) d += BigInt(e.amount);
      else expect(false, `${where}, trace ${trace}: transaction code ${e.transactionCode}`);
      expect(abaOk(rdfi + e.checkDigit), `${where}, trace ${trace}: routing ${rdfi}${e.checkDigit}`);
      expect(trace.startsWith(b.originatingDFIIdentification),
             `${where}, trace ${trace}: does not start with the ODFI`);
      expect(BigInt(e.traceNumber) > lastTrace, `${where}, trace ${trace}: not ascending`);
      expect(e.amount > 0, `${where}, trace ${trace}: amount ${e.amount}`);
      lastTrace = BigInt(e.traceNumber);
    }
    if (b.serviceClassCode === 220) same(d, 0n, `${where}: debits in a credits-only batch`);
    same(f.entryAndAddendaCount, n, `${where} control: entry/addenda count`);
    same(f.entryHash, h % HASH_MOD, `${where} control: entry hash`);
    same(f.totalCredit, c, `${where} control: total credit`);
    same(f.totalDebit, d, `${where} control: total debit`);
    entries += n;
    hash += h;
    credit += c;
    debit += d;
  });
  same(footer.batchCount, ach.batches.length, 'file control: batch count');
  same(footer.entryAndAddendaCount, entries, 'file control: entry/addenda count');
  same(footer.entryHash, hash % HASH_MOD, 'file control: entry hash');
  same(footer.totalCredit, credit, 'file control: total credit');
  same(footer.totalDebit, debit, 'file control: total debit');
  same(footer.blockCount, Math.ceil(counts.beforePadding / BLOCKING_FACTOR),
       'file control: block count');
  same(footer.blockCount * BLOCKING_FACTOR, counts.total, 'records in the file (blocks * 10)');

  // The package's own control calculation must agree with the file too.
  if (ach.batches.length > 0 && file.footer) {
    const calc = calculate({ ach });
    calc.batchFooters.forEach((bf, bi) => {
      const f = ach.batches[bi].footer || {};
      for (const k of ['entryAndAddendaCount', 'entryHash', 'totalDebit', 'totalCredit'])
        same(f[k], bf[k], `batch ${bi + 1} control: ${k} (@ach/ach calculate)`);
    });
    for (const k of ['batchCount', 'blockCount', 'entryAndAddendaCount', 'entryHash',
                     'totalDebit', 'totalCredit'])
      same(footer[k], calc.footer[k], `file control: ${k} (@ach/ach calculate)`);
  }

  if (problems.length > 0) {
    for (const p of problems) console.log(`mismatch: ${p}`);
    process.exit(1);
  }
  console.log(`ok: ${ach.batches.length} batches, ${entries} entries, ` +
              `${counts.total / BLOCKING_FACTOR} blocks, total credit ${credit} cents, ` +
              `entry hash ${hash % HASH_MOD}`);
}

main().catch((e) => {
  console.log(`mismatch: the parser failed: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
