// The reference for tests/data/test_gpt2_tokenizer.cpp: GPT-2's BPE as the npm package gpt-3-encoder
// 1.1.4 computes it (scripts/setup.sh installs it under third_party/npm).
//
//   node gpt2_encode_ref.js PACKAGE_DIR IN.jsonl OUT.jsonl
//
// Each line of IN is {"text": "..."} or {"ids": [...]}; the same line of OUT is {"ids": encode(text)}
// or {"text": decode(ids)} (what the package cannot find comes out as null). A line may name another
// copy of the package, with other data files, as "package": DIR (the tests' tiny vocabularies).
'use strict';
const fs = require('fs');
const path = require('path');

const [packageDir, inPath, outPath] = process.argv.slice(2);
if (!packageDir || !inPath || !outPath) {
  console.error('usage: node gpt2_encode_ref.js PACKAGE_DIR IN.jsonl OUT.jsonl');
  process.exit(2);
}
const load = dir => require(path.resolve(dir));  // require caches each folder's module

const out = [];
for (const line of fs.readFileSync(inPath, 'utf-8').split('\n')) {
  if (line.length === 0) continue;
  const c = JSON.parse(line);
  const { encode, decode } = load(c.package || packageDir);
  out.push(JSON.stringify('text' in c ? { ids: encode(c.text) } : { text: decode(c.ids) }));
}
fs.writeFileSync(outPath, out.join('\n') + '\n');
