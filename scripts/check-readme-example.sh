#!/usr/bin/env bash
# The README's TypeScript example, run as a new user runs it (CI calls this
# after `npm test`):
#   1. `npm pack` this repository: `prepare` compiles dist/, `files` decides
#      what ships; the tarball must hold dist/lib, the native sources and the
#      addon's build script;
#   2. a new project (`npm init -y`, `npm pkg set type=module`, as the README
#      says) installs the tarball — its `install` script builds the native
#      addon from source — and TypeScript and @types/node at the versions of
#      this repository's devDependencies (from npm's cache when it has them);
#   3. the README's tsconfig.json and example.ts are written from README.md,
#      from the fenced blocks after `<!-- readme-example:tsconfig -->` and
#      `<!-- readme-example:ts -->`, so the README and this check cannot drift;
#      the example compiles with that tsconfig, and also with the one
#      `npx tsc --init` writes (the README says either works);
#   4. it runs as written on one epoch: a preloaded module (--require) passes
#      `epochs: 1` to fit() — the example's own code is untouched;
#   5. what it prints must have the shape of the README's output block
#      (`<!-- readme-example:output -->`: each of its lines with the numbers
#      as wildcards), and the probe must beat chance (10%) by far.
# Prints the time of each step. KEEP=1 keeps the temporary folder.
# The addon is built without CUDA unless IMIX_CUDA says otherwise (nvcc would
# take most of the time); IMIX_BUILD_DIR is ignored (the installed package's
# own build/ must load).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
export IMIX_CUDA="${IMIX_CUDA:-OFF}"
unset IMIX_BUILD_DIR
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

t0=$SECONDS
lap=$SECONDS
step() { # step NAME: prints NAME and the seconds since the last step
  echo "readme-example: $1 ($((SECONDS - lap)) s)"
  lap=$SECONDS
}
work="$(mktemp -d "${TMPDIR:-/tmp}/imix-readme-example-XXXXXX")"
cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ] || [ -n "${KEEP:-}" ]; then echo "readme-example: files kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() {
  echo "readme-example: $*" >&2
  exit 1
}

# 1. Pack.
(cd "$repo" && npm pack --pack-destination "$work" >"$work/pack.log" 2>&1) || {
  tail -40 "$work/pack.log" >&2
  fail "npm pack failed"
}
tarball="$(ls "$work"/imix-*.tgz)"
tar tzf "$tarball" >"$work/contents.txt"
for f in package/dist/lib/index.js package/dist/lib/index.d.ts package/scripts/build-native.js package/CMakeLists.txt package/native/addon/addon.cpp package/data/fashion-mnist/README.md; do
  grep -qx "$f" "$work/contents.txt" || fail "$(basename "$tarball") lacks ${f#package/}"
done
step "packed $(basename "$tarball"), $(wc -l <"$work/contents.txt") files, $(($(stat -c %s "$tarball") / 1024)) KiB"

# 2. A new project installs it.
app="$work/app"
mkdir "$app"
cd "$app"
npm init -y >/dev/null
npm pkg set type=module
ts_version="$(node -p "require('$repo/node_modules/typescript/package.json').version")"
types_version="$(node -p "require('$repo/node_modules/@types/node/package.json').version")"
npm install --prefer-offline --foreground-scripts "$tarball" >"$work/install.log" 2>&1 || {
  tail -60 "$work/install.log" >&2
  fail "npm install of the tarball failed"
}
[ -f node_modules/imix/build/Release/imix.node ] || fail "the install built no addon (node_modules/imix/build/Release/imix.node); see $work/install.log"
step "installed the tarball (native addon built)"
npm install --prefer-offline -D "typescript@$ts_version" "@types/node@$types_version" >"$work/install-dev.log" 2>&1 || {
  tail -40 "$work/install-dev.log" >&2
  fail "npm install -D typescript @types/node failed"
}
step "installed typescript $ts_version, @types/node $types_version"

# 3. The README's files, compiled.
node - "$repo/README.md" "$app" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const [readme, app] = process.argv.slice(2);
const text = fs.readFileSync(readme, 'utf8');
/** The fenced block right after `<!-- readme-example:NAME -->`. */
function block(name) {
  const m = new RegExp(`<!-- readme-example:${name} -->\\s*\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\\n\`\`\`\\n`).exec(text);
  if (!m) throw new Error(`README.md: no fenced block after <!-- readme-example:${name} -->`);
  return m[1] + '\n';
}
fs.writeFileSync(path.join(app, 'tsconfig.json'), block('tsconfig'));
fs.writeFileSync(path.join(app, 'example.ts'), block('ts'));
fs.writeFileSync(path.join(app, 'expected-output.txt'), block('output'));
EOF
npx tsc -p . >"$work/tsc.log" 2>&1 || {
  cat "$work/tsc.log" >&2
  fail "the README's example does not compile with the README's tsconfig.json"
}
[ -f example.js ] || fail "tsc wrote no example.js"
mkdir init
cp example.ts init/
(cd init && npx tsc --init >/dev/null && npx tsc -p . --noEmit >"$work/tsc-init.log" 2>&1) || {
  cat "$work/tsc-init.log" >&2
  fail "the README's example does not compile with the tsconfig.json of npx tsc --init"
}
step "compiled with the README's tsconfig.json and with tsc --init's"

# 4. Run it on one epoch.
cat >budget.cjs <<'EOF'
// Preloaded before example.js: every fit() runs one epoch (CI's time budget); nothing else changes.
const { ContrastiveMethod } = require('imix');
const fit = ContrastiveMethod.prototype.fit;
ContrastiveMethod.prototype.fit = function (data, options) {
  return fit.call(this, data, { ...options, epochs: 1 });
};
EOF
node --require ./budget.cjs example.js >output.txt 2>"$work/run.err" || {
  cat output.txt "$work/run.err" >&2
  fail "node example.js failed"
}
[ -d run ] && [ -n "$(ls run)" ] || fail "the example wrote no checkpoint to run/"
step "ran the example (one epoch)"

# 5. It prints what the README shows.
node - output.txt expected-output.txt <<'EOF'
const fs = require('node:fs');
const [got, want] = process.argv.slice(2).map((f) => fs.readFileSync(f, 'utf8').trimEnd().split('\n'));
// Each README line is a pattern: its numbers vary, the rest is literal; `…` stands for lines left out.
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const patterns = want.filter((l) => l.trim() !== '…').map((l) => new RegExp('^' + l.split(/\d+(?:\.\d+)?/).map(esc).join('\\d+(?:\\.\\d+)?') + '$'));
const problems = [];
if (!patterns[0].test(got[0] ?? '')) problems.push(`first line ${JSON.stringify(got[0])} is not like ${JSON.stringify(want[0])}`);
const last = want[want.length - 1];
if (!patterns[patterns.length - 1].test(got[got.length - 1] ?? '')) problems.push(`last line ${JSON.stringify(got[got.length - 1])} is not like ${JSON.stringify(last)}`);
for (const l of got) if (!patterns.some((p) => p.test(l))) problems.push(`line ${JSON.stringify(l)} is like none of the README's`);
const acc = Number(/([\d.]+)%/.exec(got[got.length - 1] ?? '')?.[1]);
if (!(acc > 50)) problems.push(`probe accuracy ${acc}% after one epoch: expected far above chance (10%)`);
if (problems.length) {
  console.error(`readme-example: the output differs from the README's:\n  ${problems.join('\n  ')}\noutput:\n${got.join('\n')}`);
  process.exit(1);
}
console.log(`readme-example: printed ${got.length} lines like the README's: ${got.join(' | ')}`);
EOF
step "output checked"
echo "readme-example: passed in $((SECONDS - t0)) s"
