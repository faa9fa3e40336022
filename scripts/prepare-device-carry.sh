#!/usr/bin/env bash
# Packs, into .gpu/ (git-ignored), what scripts/device-check.sh needs on a
# bare GPU machine of the `device` tool: those machines have nvcc, CMake,
# compute-sanitizer and PyTorch but no Node.js and no network, and a call
# takes the working tree plus at most 8 carried ignored paths, 64 MiB in all.
#
#   .gpu/node.xz               this machine's Node.js binary (x86-64, glibc)
#   .gpu/node_modules.tar.xz   node_modules: the packages package.json's
#                              dependencies and devDependencies need (their
#                              whole dependency closure), less CARRY_EXCLUDE
#                              (package names, * a wildcard; default
#                              "typedoc @img/*": the API docs, and sharp's native
#                              libvips, which only image folders load — sharp's
#                              own JavaScript and types stay, for tsc); enough
#                              to build the addon (cmake-js,
#                              node-addon-api, node-api-headers), run vitest and
#                              compile the TypeScript (typescript, @types/node)
#   .gpu/dist.tar.xz           dist/lib and dist/bench, compiled here now
#   .gpu/dist.sha256           the fingerprint of the sources they were compiled
#                              from (scripts/device-check.sh --fingerprint): on the
#                              device, a tree that changed since is compiled again
#   .gpu/MANIFEST              what is in it, the sizes, the date
#   (and the hashes that let a second run reuse the slow parts: node.sha256,
#   node_modules.key / .sha256)
#
# It fails when the working tree that travels (tracked and untracked files
# git does not ignore) plus .gpu/ would pass the 64 MiB a call carries, and
# warns above CARRY_WARN_MIB (default 60). Then, one device call:
#   run  command: scripts/device-check.sh   carry: [".gpu"]   timeout_s: 600
# (docs/cuda.md, "Running on a lent GPU").
#
#   scripts/prepare-device-carry.sh          # prints the sizes
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

[ -d node_modules ] || { echo "prepare-device-carry: no node_modules here: run npm ci first" >&2; exit 1; }
[ "$(uname -m)" = x86_64 ] || { echo "prepare-device-carry: the device machines are x86-64; this is $(uname -m): a node binary from here would not run there" >&2; exit 1; }
node="$(command -v node)"
exclude="${CARRY_EXCLUDE-typedoc @img/*}"
limit=$((64 * 1024 * 1024))
warn=$((${CARRY_WARN_MIB:-60} * 1024 * 1024))
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
xzc() { xz -T0 -9 -c; }

# Built outside the tree (an unignored folder here would travel too), then
# swapped in whole, so an interrupted run never leaves half a kit.
tmp="$(mktemp -d /tmp/imix-carry.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

# 1. The TypeScript, compiled from this tree, and the fingerprint of its sources.
node node_modules/typescript/bin/tsc -p tsconfig.json
tar -cf - dist/lib dist/bench | xzc >"$tmp/dist.tar.xz"
scripts/device-check.sh --fingerprint >"$tmp/dist.sha256"

# 2. Node.js (compressing it takes minutes: the last kit's is reused when it is the same binary).
sha256sum <"$node" | cut -d' ' -f1 >"$tmp/node.sha256"
if [ -f .gpu/node.xz ] && cmp -s .gpu/node.sha256 "$tmp/node.sha256"; then
  cp .gpu/node.xz "$tmp/node.xz"
else
  xzc <"$node" >"$tmp/node.xz"
fi

# 3. node_modules: the closure of package.json's dependencies, by Node's own
# lookup (a package's node_modules, then its parents'), optional and peer
# dependencies included when installed.
node - "$exclude" >"$tmp/packages.txt" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const patterns = process.argv[2].split(/\s+/).filter(Boolean).map((p) => new RegExp('^' + p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$'));
const excluded = (name) => patterns.some((re) => re.test(name));
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const seen = new Set();
function find(name, from) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const p = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(p, 'package.json'))) return p;
    if (dir === '.' || dir === path.dirname(dir)) return null;
  }
}
function visit(name, from, required) {
  if (excluded(name)) return;
  const dir = find(name, from);
  if (!dir) {
    if (required) throw new Error(`prepare-device-carry: ${name} (needed by ${from}) is not installed: run npm ci`);
    return; // an optional or peer dependency that is not installed
  }
  const rel = path.relative(process.cwd(), dir);
  if (seen.has(rel)) return;
  seen.add(rel);
  const p = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  for (const d of Object.keys(p.dependencies ?? {})) visit(d, dir, !(p.optionalDependencies ?? {})[d]);
  for (const d of Object.keys(p.optionalDependencies ?? {})) visit(d, dir, false);
  for (const d of Object.keys(p.peerDependencies ?? {})) visit(d, dir, false);
}
for (const d of [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]) visit(d, '.', true);
console.log([...seen].sort().join('\n'));
EOF
# The .bin links too (vitest and tsc are started by path, but keep npm's layout).
[ -d node_modules/.bin ] && echo node_modules/.bin >>"$tmp/packages.txt"
# Reused from the last kit when the packages and the lock file are the same.
key="$( (cat "$tmp/packages.txt" package-lock.json; echo "$exclude") | sha256sum | cut -d' ' -f1)"
if [ -f .gpu/node_modules.tar.xz ] && [ "$(cat .gpu/node_modules.key 2>/dev/null)" = "$key" ]; then
  cp .gpu/node_modules.tar.xz .gpu/node_modules.sha256 "$tmp/"
else
  tar -cf - --exclude='*.map' --exclude='*.md' -T "$tmp/packages.txt" | xzc >"$tmp/node_modules.tar.xz"
  sha256sum "$tmp/node_modules.tar.xz" | cut -d' ' -f1 >"$tmp/node_modules.sha256"
fi
echo "$key" >"$tmp/node_modules.key"
npk=$(grep -c . "$tmp/packages.txt")
rm "$tmp/packages.txt"

# 4. Sizes: what a device call would carry.
# (tracked files deleted here do not travel: stat skips them)
tree=$( (git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null || true) | awk '{ s += $1 } END { print s + 0 }')
[ -d shared ] && tree=$((tree + $(du -sb shared | cut -f1)))
kit=$(du -cb "$tmp"/* | tail -1 | cut -f1)
total=$((tree + kit))
{
  echo "prepared $(date -u +%FT%TZ) on $(hostname) for scripts/device-check.sh"
  echo "node $("$node" --version) ($node), $npk packages (CARRY_EXCLUDE: ${exclude:-none})"
  for f in node.xz node_modules.tar.xz dist.tar.xz; do echo "$f: $(mib "$(stat -c %s "$tmp/$f")")"; done
  echo ".gpu: $(mib "$kit"); the working tree that travels: $(mib "$tree"); together $(mib "$total") of the 64 MiB a call carries"
} >"$tmp/MANIFEST"

rm -rf .gpu
mkdir .gpu
mv "$tmp"/* .gpu/
cat .gpu/MANIFEST
if [ "$total" -gt "$limit" ]; then
  echo "prepare-device-carry: TOO BIG: $(mib "$total") > 64 MiB; a device call would refuse it (drop packages with CARRY_EXCLUDE, or shrink the tree)" >&2
  exit 1
fi
[ "$total" -gt "$warn" ] && echo "prepare-device-carry: warning: $(mib "$total") is close to the 64 MiB limit" >&2
echo "prepare-device-carry: ok; now: run command: scripts/device-check.sh carry: [\".gpu\"] timeout_s: 600"
