#!/usr/bin/env bash
# Runs the whole suite on every Node version the project is tested on (`npm run test:all-node`).
# Builds and type-checks once with the machine's Node, then runs tap once per version, one version
# after the other (the suite already uses both cores of a small CI machine). A version that is not
# the machine's own is fetched from the npm registry as the ordinary package node-<os>-<cpu>@<major>
# (its bin/node is the official binary; npm checks the tarball's integrity) into .ci/node/<major>,
# which git ignores. Putting that bin directory first in PATH makes tap, every test file it runs
# (tap spawns process.execPath) and every process a test spawns run on that version.
#
# NODE_VERSIONS="22 24" picks versions; arguments go to tap (e.g. --reporter=tap, or test files).
# Exits non-zero if any version fails. Prints one "node vX.Y.Z: ..." line per version at the end.
set -uo pipefail
cd "$(dirname "$0")/.."

read -r -a versions <<< "${NODE_VERSIONS:-20 22 24 26}"

major_of () { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null; }

# Prints the bin directory holding Node major $1, fetching it first if needed.
node_bin_for () {
  local v=$1 dir=.ci/node/$1 here tmp pkg
  here=$(command -v node)
  if [ "$(major_of "$here")" = "$v" ]; then dirname "$here"; return 0; fi
  if [ -x "$dir/bin/node" ] && [ "$(major_of "$dir/bin/node")" = "$v" ]; then echo "$PWD/$dir/bin"; return 0; fi
  pkg="node-$(node -p 'process.platform + "-" + process.arch')@$v"
  tmp=$(mktemp -d)
  if npm pack "$pkg" --pack-destination "$tmp" --silent >/dev/null 2>"$tmp/err" \
    && rm -rf "$dir" && mkdir -p "$dir" \
    && tar xzf "$tmp"/*.tgz -C "$dir" --strip-components=1 package/bin/node package/LICENSE \
    && [ "$(major_of "$dir/bin/node")" = "$v" ]; then
    rm -rf "$tmp"
    echo "$PWD/$dir/bin"
    return 0
  fi
  echo "could not fetch $pkg: $(tail -3 "$tmp/err" 2>/dev/null)" >&2
  rm -rf "$tmp"
  return 1
}

# Fetch every version before the long runs, so a registry failure shows at once.
declare -A bins
for v in "${versions[@]}"; do
  bins[$v]=$(node_bin_for "$v") || bins[$v]=''
done

if ! (npm run build && npm run lint && npm run typecheck && npm run test:types); then
  echo "build or type check failed: no tests ran"
  exit 1
fi

status=0
results=()
for v in "${versions[@]}"; do
  if [ -z "${bins[$v]}" ]; then
    results+=("node $v: NOT RUN (could not install it)")
    status=1
    continue
  fi
  version=$("${bins[$v]}/node" --version)
  echo "# running the suite on node $version (${bins[$v]}/node)"
  start=$SECONDS
  # npm run exports its own Node as NODE and npm_node_execpath: unset so nothing can pick it up.
  # Coverage is measured on the machine's own Node, as `npm test` does; on the other versions it
  # would only repeat the same report and slow the run by a fifth to a third.
  coverage=()
  [ "${bins[$v]}" = "$(dirname "$(command -v node)")" ] || coverage=(--disable-coverage)
  # The long soak runs its full minute on the machine's own Node; the other versions run a third
  # of it (a new seed each), which keeps four versions well inside CI's time.
  extra=()
  [ ${#coverage[@]} = 0 ] || extra+=(SOAK_SECONDS="${SOAK_SECONDS:-20}")
  # The fallback read path (Node's 'data' events, no shared buffer) runs the whole suite on Node
  # 22, so both paths are tested in every CI run (FALLBACK_READS_ON picks another version).
  [ "$v" = "${FALLBACK_READS_ON:-22}" ] && extra+=(FASTIFY_RFC6455_SHARED_READS=0) && echo "# node $v: shared-buffer reads off (the fallback path)"
  # test/node-version.test.ts checks the tests and their children run $v (WS_TEST_NODE_MAJOR).
  env -u NODE -u npm_node_execpath PATH="${bins[$v]}:$PATH" WS_TEST_NODE_MAJOR="$v" "${extra[@]}" \
    node_modules/.bin/tap "${coverage[@]}" "$@"
  rc=$?
  # where coverage is measured over the whole suite (no test files named), the line-coverage
  # floors per folder must hold (scripts/coverage-floors.js: engine and handshake 100%)
  whole=1
  for arg in "$@"; do case "$arg" in -*) ;; *) whole=0 ;; esac; done
  if [ $rc = 0 ] && [ ${#coverage[@]} = 0 ] && [ $whole = 1 ]; then node scripts/coverage-floors.js || rc=1; fi
  took=$((SECONDS - start))
  if [ $rc = 0 ]; then
    results+=("node $version: ok (${took} s)")
  else
    results+=("node $version: FAILED, tap exit $rc (${took} s)")
    status=1
  fi
done

for line in "${results[@]}"; do echo "$line"; done
exit $status
