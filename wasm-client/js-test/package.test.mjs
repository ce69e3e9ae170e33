// The manifest of vmm-client (../package.json) as Node, bundlers and npm read it: the package
// resolves by its name to its own files, publishes what its exports need and nothing else, and
// carries the version of the Rust workspace.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const pkgDir = fileURLToPath(new URL('../', import.meta.url));
const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const built = existsSync(join(pkgDir, 'wasm/vmm_client_bg.wasm'));
const notBuilt = built ? false : 'wasm/ is not built (make wasm-pkg)';

test('the package has the version of the Rust workspace', () => {
  const cargo = readFileSync(join(pkgDir, '../Cargo.toml'), 'utf8');
  const version = cargo.match(/^\[workspace\.package\][^[]*?^version = "([^"]+)"/m)?.[1];
  assert.ok(version, 'the workspace version in Cargo.toml');
  assert.equal(manifest.name, 'vmm-client');
  assert.equal(manifest.version, version);
});

test('the entry points resolve by the package name to the files in js/ and wasm/', () => {
  const expected = {
    'vmm-client': 'js/index.js',
    'vmm-client/vue': 'js/vue.js',
    'vmm-client/vuex': 'js/vuex.js',
    'vmm-client/pinia': 'js/pinia.js',
    'vmm-client/errors': 'js/errors.js',
    'vmm-client/wasm': 'wasm/vmm_client.js',
    'vmm-client/vmm_client_bg.wasm': 'wasm/vmm_client_bg.wasm',
  };
  for (const [specifier, file] of Object.entries(expected)) {
    if (file.startsWith('wasm/') && !built) continue;
    assert.equal(import.meta.resolve(specifier), pathToFileURL(join(pkgDir, file)).href, specifier);
  }
  for (const [entry, target] of Object.entries(manifest.exports)) {
    for (const file of typeof target === 'string' ? [target] : Object.values(target)) {
      if (!file.startsWith('./wasm/') || built) assert.ok(existsSync(join(pkgDir, file)), `${entry} → ${file}`);
    }
  }
  assert.equal(manifest.types, 'js/index.d.ts');
  assert.equal(manifest.main, 'js/index.js');
});

test('vue, vuex and pinia are optional peer dependencies, and nothing else is needed', () => {
  assert.deepEqual(manifest.peerDependencies, { pinia: '>=2.1.0', vue: '^3.3.0', vuex: '^4.1.0' });
  const optional = { optional: true };
  assert.deepEqual(manifest.peerDependenciesMeta, { pinia: optional, vue: optional, vuex: optional });
  assert.equal(manifest.dependencies, undefined);
});

test('the published files are the JS layer, its types and the built wasm', { skip: notBuilt }, () => {
  const [report] = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: pkgDir, encoding: 'utf8' }),
  );
  const files = report.files.map((f) => f.path).sort();
  // Every module of js/ and its types (the folder holds nothing else), and at least these.
  const layer = readdirSync(join(pkgDir, 'js')).map((n) => `js/${n}`);
  assert.deepEqual(layer.filter((f) => !/\.(d\.ts|js)$/.test(f)), [], 'js/ holds only modules and types');
  for (const entry of ['index', 'vue', 'vuex', 'pinia', 'errors']) {
    assert.ok(layer.includes(`js/${entry}.js`) && layer.includes(`js/${entry}.d.ts`), entry);
  }
  const js = layer.filter((f) => f.endsWith('.js'));
  const types = layer.filter((f) => f.endsWith('.d.ts'));
  const wasm = ['vmm_client.js', 'vmm_client.d.ts', 'vmm_client_bg.wasm', 'vmm_client_bg.wasm.d.ts'].map((n) => `wasm/${n}`);
  assert.deepEqual(files, ['README.md', ...js, ...types, 'package.json', ...wasm].sort());
});

test('the bindings import the error classes from js/errors.js itself, not from a copy', { skip: notBuilt }, () => {
  const glue = readFileSync(join(pkgDir, 'wasm/vmm_client.js'), 'utf8');
  assert.match(glue, /from ['"]\.\.\/js\/errors\.js['"]/);
  assert.doesNotMatch(glue, /snippets\//);
  assert.ok(!existsSync(join(pkgDir, 'wasm/snippets')), 'no snippet copies');
});
