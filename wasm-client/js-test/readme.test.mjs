// The README's Vue example is the fixture app that `make test-fixture` installs, builds,
// type-checks and runs in Chromium (tests/vite-app/): its files must appear in README.md as they
// are, so the example cannot go stale.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';

const read = (path) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

test("README.md shows the fixture app's src/main.ts and src/App.vue verbatim", () => {
  const readme = read('README.md');
  for (const file of ['tests/vite-app/src/main.ts', 'tests/vite-app/src/App.vue']) {
    const text = read(file);
    const name = file.replace('tests/vite-app/', '');
    const comment = file.endsWith('.vue') ? `<!-- ${name} -->` : `// ${name}`;
    assert.ok(readme.includes(`${comment}\n${text}\`\`\``), `README.md has ${file} in a code block of its own, as is`);
  }
});

test('README.md installs the tarball that make wasm-pkg writes, at the version of the package', () => {
  const readme = read('README.md');
  const { version } = JSON.parse(read('wasm-client/package.json'));
  assert.match(readme, /make wasm-pkg\nnpm install \S*wasm-client\/pkg\/vmm-client-(\S+)\.tgz\n/);
  assert.equal(readme.match(/pkg\/vmm-client-(\d\S*)\.tgz/)[1], version);
  assert.match(read('Makefile'), /npm pack --pack-destination pkg/);
});
