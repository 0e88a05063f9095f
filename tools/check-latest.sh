#!/usr/bin/env bash
# Try the newest releases apart from CI: build the environments of .ci/run from the newest
# release in each supported range (no pins), run the same suites in them, and print per
# environment which releases it tried, what differs from the pins in .ci/pins/ and which
# suites passed. Not part of .ci/run's pass or fail: CI installs from the pins.
#
# Usage: tools/check-latest.sh [--write-pins] [ENV...]     (default: every environment)
#   --write-pins   when every suite of an environment passed, rewrite .ci/pins/ENV.txt with
#                  what it installed (the versions CI then tests); an environment whose
#                  suites failed keeps its pins, and the run says so.
# Environments: openai3 openai2 openai1 openai1-oldest coexist frameworks (.ci/lib.sh). The newest
# releases go to .ci-venvs-latest/ (ignored), beside CI's .ci-venvs/. Exit 1 when a suite failed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENVS=.ci-venvs-latest
PINS= # empty: make_env installs the newest release in each range
PINNED=.ci/pins
LOGS=$VENVS/logs
# shellcheck source=../.ci/lib.sh
source .ci/lib.sh

write_pins=false
envs=()
for argument in "$@"; do
  case $argument in
    --write-pins) write_pins=true ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *)
      [[ -n ${ENV_REQUIREMENTS[$argument]+set} ]] || { echo "unknown environment $argument (${ENV_NAMES[*]})" >&2; exit 2; }
      envs+=("$argument")
      ;;
  esac
done
[[ ${#envs[@]} -gt 0 ]] || envs=("${ENV_NAMES[@]}")
mkdir -p "$LOGS"

# norm NAME: a package name as pip compares them (case, "_" and "." fold to "-").
norm() { printf '%s' "$1" | tr 'A-Z_.' 'a-z--'; }

# version_in FILE PACKAGE: the version a name==version FILE holds for PACKAGE, or "none".
version_in() {
  local want name _ version
  want=$(norm "$2")
  [[ -f $1 ]] || { echo none; return; }
  while IFS='=' read -r name _ version; do
    [[ $(norm "$name") == "$want" ]] && { echo "$version"; return; }
  done <"$1"
  echo none
}

# pinned_version ENV PACKAGE: the version .ci/pins/ENV.txt holds, or "none".
pinned_version() { version_in "$PINNED/$1.txt" "$2"; }

# differences ENV: the packages whose newest version is not the pinned one, one line.
differences() {
  local env=$1
  [[ -f $PINNED/$env.txt ]] || { echo "no pins yet"; return; }
  # comm over normalised name==version lines: what only the new environment has.
  local changed
  changed=$(comm -13 <(tr 'A-Z_' 'a-z-' <"$PINNED/$env.txt" | sort) <(tr 'A-Z_' 'a-z-' <"$VENVS/$env.freeze" | sort) \
    | while IFS='=' read -r name _ version; do
      printf '%s %s->%s, ' "$name" "$(pinned_version "$env" "$name")" "$version"
    done)
  echo "${changed:-none}" | sed 's/, $//'
}

for env in "${envs[@]}"; do
  CURRENT_ENV=$env
  log "environment $env: the newest releases of ${ENV_REQUIREMENTS[$env]}"
  if ! make_env "$env"; then
    step "install $env" false
    continue
  fi
  freeze "$env" >"$VENVS/$env.freeze"
  if [[ $env == openai3 ]]; then
    step "lint and types (newest ruff and mypy)" \
      bash -c "$VENVS/openai3/bin/ruff check . && $VENVS/openai3/bin/ruff format --check otel_aierrors && $VENVS/openai3/bin/mypy"
  fi
  suites_of "$env"
  if [[ $env == openai3 ]]; then
    step "pipeline binaries (cached build)" tools/build-binaries.sh
    [[ ${RESULTS["pipeline binaries (cached build)"]%% *} == 0 ]] && suite_pipeline
  fi
  sdk_suites_of "$env"
done

log "the newest releases against the pins"
status=0
summary || status=$?
for env in "${envs[@]}"; do
  [[ -f $VENVS/$env.freeze ]] || { printf '%s: not installed (see %s)\n' "$env" "$LOGS"; continue; }
  printf '%s:' "$env"
  for sdk in ${ENV_SDKS[$env]}; do
    printf ' %s %s (pinned %s)' "$sdk" "$(version_in "$VENVS/$env.freeze" "$sdk")" "$(pinned_version "$env" "$sdk")"
  done
  printf '\n  other packages that differ from the pins: %s\n' "$(differences "$env")"
  if $write_pins; then
    if ! failed_in "$env"; then
      mkdir -p "$PINNED"
      cp "$VENVS/$env.freeze" "$PINNED/$env.txt"
      printf '  pins written: %s\n' "$PINNED/$env.txt"
    else
      printf '  pins kept: a suite of %s failed\n' "$env"
    fi
  fi
done
exit $status
