#!/usr/bin/env node
// Turns the output of `wasm-pack build --target web --out-dir pkg` into the `vmm-client` package:
//
//   pkg/
//     package.json          wasm-pack's, with the fields of package-extra.json and the files list
//     vmm_client.js         wasm-bindgen's bindings (default export: init), .d.ts, _bg.wasm
//     snippets/<crate>-<hash>/js/errors.js   js/errors.js as wasm-bindgen copied it for Rust
//     js/index.js           the entry: connect(), init(), the errors; imports ../vmm_client.js
//     js/vue.js, js/vuex.js (+ their helper schedule.js), js/*.d.ts
//     js/errors.js          a re-export of the snippet (see below)
//
// Usage: node scripts/package.mjs [pkg-dir]   (default: the pkg/ next to this script's folder)
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = resolve(process.argv[2] ?? join(root, 'pkg'));
const bindings = join(pkg, 'vmm_client.js');

for (const needed of [join(pkg, 'package.json'), bindings]) {
  if (!existsSync(needed)) fail(`${needed} is missing; run \`wasm-pack build --target web --out-dir pkg\` first`);
}

// 1. js/ → pkg/js/ (sources and types only).
const jsOut = join(pkg, 'js');
rmSync(jsOut, { recursive: true, force: true });
mkdirSync(jsOut);
for (const name of readdirSync(join(root, 'js'))) {
  if (name.endsWith('.js') || name.endsWith('.d.ts')) copyFileSync(join(root, 'js', name), join(jsOut, name));
}

// 2. One set of error classes. The Rust side imports js/errors.js as a wasm-bindgen snippet, which
// wasm-bindgen copies to snippets/<crate>-<hash>/js/errors.js; a second copy in js/ would define
// classes of the same names that `instanceof` would not recognise. So js/errors.js re-exports the
// snippet the bindings import.
const snippet = readFileSync(bindings, 'utf8').match(/['"]\.\/(snippets\/[^'"]*\/js\/errors\.js)['"]/)?.[1];
if (snippet && existsSync(join(pkg, snippet))) {
  writeFileSync(
    join(jsOut, 'errors.js'),
    '// Written by scripts/package.mjs: the wasm side builds its errors from this snippet; re-exporting\n' +
      '// it (rather than a copy) keeps one set of classes, so `instanceof` works.\n' +
      `export * from '../${snippet}';\n`,
  );
} else {
  console.warn('package.mjs: vmm_client.js imports no js/errors.js snippet; js/errors.js stays a copy');
}

// 3. package.json: wasm-pack's (name, version from Cargo, description, license, repository) with
// the entry points, exports and peers of package-extra.json, and a files list of what is there.
const generated = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
const extra = JSON.parse(readFileSync(join(root, 'package-extra.json'), 'utf8'));
const files = [
  ...readdirSync(pkg).filter((name) => name.startsWith('vmm_client')).sort(),
  ...(existsSync(join(pkg, 'snippets')) ? ['snippets/'] : []),
  'js/',
];
const { name, type, description, version, license, repository, ...rest } = generated;
delete rest.files;
delete rest.main;
delete rest.module;
delete rest.types;
delete rest.sideEffects;
const manifest = { name, type, description, version, license, repository, ...rest, ...extra, files };
writeFileSync(join(pkg, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`package.mjs: ${manifest.name}@${manifest.version} in ${pkg}`);

function fail(message) {
  console.error(`package.mjs: ${message}`);
  process.exit(1);
}
