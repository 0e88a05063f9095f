#!/usr/bin/env bash
# Build the two binaries of the pipeline from Go modules, once per version:
#
#   otelcol-aierrors  our slim OpenTelemetry Collector, from collector-config/builder-config.yaml
#                     (the collector builder, ocb, at the manifest's release)
#   jaeger            Jaeger v2 (github.com/jaegertracing/jaeger, cmd/jaeger) without the UI
#                     assets: the query API answers, the UI page is a placeholder
#
# Usage: tools/build-binaries.sh [collector|jaeger]...   (default: both)
#
# Needs Go 1.26 or newer (the contrib modules of the collector release say `go 1.26.0`; an older
# go >= 1.21 fetches that toolchain through the module proxy by itself) and the Go module proxy;
# nothing else is downloaded. The binaries are cached outside the repository, keyed by version
# (and, for the collector, by the manifest's content), in
#   ${OTEL_AIERRORS_BIN_CACHE:-$HOME/.cache/otel-aierrors/bin}/<name>-<version>/<name>
# and linked into .bin/ of the checkout. A second run builds nothing. Each build prints how long
# it took. First build measured on 2 cores shared with other jobs: collector 16 min, Jaeger 36 min
# (3.6 and 8.8 CPU-minutes); with a warm Go build cache 35 s each.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

JAEGER_VERSION=v1.76.0 # the Go module keeps the v1 numbering of the release tagged...
JAEGER_RELEASE=v2.13.0 # ...Jaeger v2.13.0, which `jaeger version` reports
BUILDER_MODULE=go.opentelemetry.io/collector/cmd/builder
MANIFEST=collector-config/builder-config.yaml
CACHE=${OTEL_AIERRORS_BIN_CACHE:-$HOME/.cache/otel-aierrors/bin}
BIN=$ROOT/.bin

log() { printf '== %s\n' "$*"; }
die() { printf 'build-binaries: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "go not found on PATH: install Go 1.26 or newer (https://go.dev/dl/)"
go_version=$(go env GOVERSION)
case $go_version in
  go1.2[6-9]* | go1.[3-9][0-9]* | go[2-9]*) ;;
  go1.2[1-5]*) log "$go_version: Go will fetch the go1.26 toolchain the modules ask for (GOTOOLCHAIN=auto)" ;;
  *) die "$go_version is too old: Go 1.26 or newer is needed" ;;
esac

# The collector's release is the manifest's dist.version; ocb is pinned to the same release.
collector_version=$(sed -n 's/^  version: *\([0-9.]*\).*/\1/p' "$MANIFEST")
[[ -n $collector_version ]] || die "$MANIFEST: no dist.version"
# Comments do not count: editing them does not rebuild.
manifest_hash=$(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$MANIFEST" | sha256sum | cut -c1-12)

# link NAME TARGET: .bin/NAME -> TARGET (an ignored folder of the checkout).
link() {
  mkdir -p "$BIN"
  ln -sfn "$2" "$BIN/$1"
}

# timed WHAT COMMAND...: run it and print how long it took.
timed() {
  local what=$1 started=$SECONDS
  shift
  "$@"
  log "$what built in $((SECONDS - started)) s"
}

build_collector() {
  local dir=$CACHE/otelcol-aierrors-$collector_version-$manifest_hash
  if [[ -x $dir/otelcol-aierrors ]]; then
    log "otelcol-aierrors $collector_version: cached, $dir/otelcol-aierrors"
  else
    log "otelcol-aierrors $collector_version: building (ocb v$collector_version, $go_version)"
    local work=$WORK/otelcol
    mkdir -p "$work"
    timed "otelcol-aierrors $collector_version" _build_collector "$work"
    mkdir -p "$dir"
    mv -f "$work/otelcol-aierrors/otelcol-aierrors" "$dir/otelcol-aierrors"
  fi
  link otelcol-aierrors "$dir/otelcol-aierrors"
  "$dir/otelcol-aierrors" --version
}

_build_collector() {
  local work=$1
  GOBIN=$work/tools go install "$BUILDER_MODULE@v$collector_version"
  # ocb writes the generated sources under dist.output_path, relative to where it runs; it
  # builds with -trimpath -ldflags='-s -w' unless debug_compilation is set.
  (cd "$work" && "$work/tools/builder" --config "$ROOT/$MANIFEST")
}

build_jaeger() {
  local dir=$CACHE/jaeger-$JAEGER_VERSION
  if [[ -x $dir/jaeger ]]; then
    log "jaeger $JAEGER_RELEASE (module $JAEGER_VERSION): cached, $dir/jaeger"
  else
    log "jaeger $JAEGER_RELEASE (module $JAEGER_VERSION): building ($go_version)"
    local work=$WORK/jaeger
    mkdir -p "$work"
    timed "jaeger $JAEGER_RELEASE" _build_jaeger "$work"
    mkdir -p "$dir"
    mv -f "$work/jaeger" "$dir/jaeger"
  fi
  link jaeger "$dir/jaeger"
  "$dir/jaeger" version 2>/dev/null | head -n 1 || true
}

_build_jaeger() {
  local work=$1 source
  # `go install ...@version` refuses modules with replace directives, which Jaeger's go.mod has:
  # build inside a writable copy of the module's source instead (from the module proxy).
  source=$(go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_VERSION" \
    | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -d $source ]] || die "go mod download of github.com/jaegertracing/jaeger@$JAEGER_VERSION gave no source"
  cp -r "$source" "$work/src"
  chmod -R u+w "$work/src"
  # The UI is a git submodule, absent from the module: `//go:embed actual/*` needs one file, and
  # without actual/index.html.gz Jaeger serves its placeholder page (the query API is unaffected).
  echo "Jaeger UI assets are not part of this build." >"$work/src/cmd/query/app/ui/actual/README.txt"
  (cd "$work/src" && go build -trimpath -ldflags="-s -w \
    -X github.com/jaegertracing/jaeger/internal/version.latestVersion=$JAEGER_RELEASE" \
    -o "$work/jaeger" ./cmd/jaeger)
}

mkdir -p "$CACHE"
# Builds happen in a scratch folder of the cache (same file system: the final move is atomic).
WORK=$(mktemp -d "$CACHE/.build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(collector jaeger)
for target in "${targets[@]}"; do
  case $target in
    collector) build_collector ;;
    jaeger) build_jaeger ;;
    *) die "unknown target $target (collector or jaeger)" ;;
  esac
done
