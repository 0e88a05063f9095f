# The environments CI tests and the suites it runs in them, shared by .ci/run (installs from
# the pins in .ci/pins/) and tools/check-latest.sh (installs the newest releases in each range).
# Sourced, not run: the caller sets VENVS (where the environments go), PINS (a folder of
# pin files, or empty for the newest releases) and LOGS (where long output goes).

# The ranges each environment installs: what users may install (pyproject.toml) narrowed to
# one SDK line. With PINS set, every package is held at the version in $PINS/<name>.txt.
declare -A ENV_REQUIREMENTS=(
  # openai 3.x sends through httpx2; the other generated SDKs (tests/sdks) are tested beside it,
  # the package is built and checked here (build, twine), and the HTML report is opened in
  # Debian's chromium through playwright (which never downloads a browser of its own here).
  [openai3]="build twine playwright openai>=3,<4 anthropic>=2,<3 groq>=1,<2 together>=3,<4 cerebras-cloud-sdk>=1.35,<2 fireworks-ai>=1.2,<2"
  # instructor (its own tests run here, instrumented) holds jiter<0.15, which openai 3.x refuses.
  [openai2]="openai>=2,<3 instructor"
  [openai1]="openai>=1.66,<2"
  # The oldest release _instruments claims, so the floor is tested, not only the newest 1.x.
  [openai1-oldest]="openai==1.66.0"
  # Beside the other GenAI instrumentations (tests/coexistence/): one call span, each gen_ai.* metric once.
  [coexist]="openai>=3,<4 opentelemetry-instrumentation-genai-openai opentelemetry-instrumentation-openai"
  # The clients users call openai through (tests/frameworks/, and their own tests instrumented).
  # litellm 1.82.7 and 1.82.8 are never installed.
  [frameworks]="openai>=3,<4 anthropic>=2,<3 litellm!=1.82.7,!=1.82.8 pydantic-ai-slim[openai] langchain-openai openai-agents"
)
ENV_NAMES=(openai3 openai2 openai1 openai1-oldest coexist frameworks)
# The SDK lines whose version a report names, per environment.
declare -A ENV_SDKS=(
  [openai3]="openai anthropic groq together cerebras-cloud-sdk fireworks-ai"
  [openai2]="openai instructor" [openai1]="openai" [openai1-oldest]="openai"
  [coexist]="openai opentelemetry-instrumentation-genai-openai opentelemetry-instrumentation-openai"
  [frameworks]="openai anthropic litellm pydantic-ai-slim langchain-openai openai-agents"
)
# The clients whose own tests sdk_suites_of runs (sdk_tests/clients.py), per environment.
declare -A ENV_CLIENTS=(
  [openai2]="instructor"
  [frameworks]="langchain-openai openai-agents pydantic-ai litellm"
)
# A step's status when what it checks could not be run (a client's sdist ships no tests):
# shown "NOT RUN" with its reason in the step's output, neither ok nor failed.
NOT_RUN=10

log() { printf '\n== %s\n' "$*"; }

# quietly LOGFILE COMMAND...: run it with its output in LOGFILE; on failure show the log's tail.
quietly() {
  local logfile=$1
  shift
  if ! "$@" >"$logfile" 2>&1; then
    echo "failed: $*" >&2
    echo "---- last 60 lines of $logfile ----" >&2
    tail -n 60 "$logfile" >&2
    return 1
  fi
}

# make_env NAME: a fresh environment $VENVS/NAME with this checkout (editable, [test]) and the
# environment's ranges, held at $PINS/NAME.txt when PINS is set.
make_env() {
  local name=$1 python=$VENVS/$1/bin/python
  local -a constraints=()
  # shellcheck disable=SC2206 # the ranges are words
  local -a requirements=(${ENV_REQUIREMENTS[$name]})
  if [[ -n ${PINS:-} ]]; then
    [[ -f $PINS/$name.txt ]] || { echo "no pin file $PINS/$name.txt: tools/check-latest.sh --write-pins $name makes it" >&2; return 1; }
    constraints=(-c "$PINS/$name.txt")
  fi
  rm -rf "${VENVS:?}/$name"
  "${PYTHON:-python3}" -m venv "$VENVS/$name"
  quietly "$LOGS/pip-$name.log" "$python" -m pip install --disable-pip-version-check --upgrade "${constraints[@]}" pip
  quietly "$LOGS/pip-$name.log.2" "$python" -m pip install --disable-pip-version-check "${constraints[@]}" \
    -e '.[test]' "${requirements[@]}"
  printf '%s:' "$name"
  sdk_versions "$name"
}

# sdk_versions NAME: the installed version of each SDK line the environment tests, on one line.
sdk_versions() {
  local name=$1 sdk
  for sdk in ${ENV_SDKS[$name]}; do
    printf ' %s %s' "$sdk" "$("$VENVS/$name/bin/python" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' "$sdk")"
  done
  printf '\n'
}

# check_pinned NAME: every package the environment holds is at its pinned version (a new
# dependency gets its pin in the same commit); lists those that are not.
check_pinned() {
  local name=$1 unpinned
  unpinned=$(comm -13 <(tr 'A-Z_' 'a-z-' <"$PINS/$name.txt" | sort) <(freeze "$name" | tr 'A-Z_' 'a-z-' | sort))
  if [[ -n $unpinned ]]; then
    echo "$name holds packages its pins do not name at these versions (pin them in $PINS/$name.txt," >&2
    echo "e.g. by tools/check-latest.sh --write-pins $name):" >&2
    echo "$unpinned" | sed 's/^/  /' >&2
    return 1
  fi
}

# freeze NAME: what the environment holds, as pins (this checkout left out).
freeze() {
  "$VENVS/$1/bin/python" -m pip freeze --all --disable-pip-version-check --exclude-editable | grep -v '^otel-aierrors'
}

# The suites, one function per step; each returns the step's status. RESULTS collects
# "status seconds" by step name, STEP_ENVS the environment (CURRENT_ENV) it ran for.
declare -A RESULTS=() STEP_ENVS=()
STEPS=()
CURRENT_ENV=
step() {
  local name=$1 started=$SECONDS status=0
  shift
  log "$name"
  "$@" || status=$?
  RESULTS[$name]="$status $((SECONDS - started))"
  STEP_ENVS[$name]=$CURRENT_ENV
  STEPS+=("$name")
  return 0
}

# failed_in ENV: whether a step run for ENV failed.
failed_in() {
  local name
  for name in "${STEPS[@]}"; do
    [[ ${STEP_ENVS[$name]} == "$1" && ${RESULTS[$name]%% *} != 0 && ${RESULTS[$name]%% *} != "$NOT_RUN" ]] && return 0
  done
  return 1
}

pytest_in() {
  local env=$1
  shift
  "$VENVS/$env/bin/python" -m pytest -q -rs -p no:cacheprovider "$@"
}

# The suites of one environment. openai3 runs everything but the pipeline tests here; those wait
# for the binaries (suite_pipeline).
suites_of() {
  case $1 in
    # REQUIRE_BROWSER: here the browser test fails, not skips, without Chromium.
    openai3) step "tests, openai 3.x (httpx2) and the other SDKs, end-to-end Prometheus and the browser" \
      env REQUIRE_BROWSER=1 "$VENVS/openai3/bin/python" -m pytest -q -rs -p no:cacheprovider -m "not pipeline" ;;
    openai2) step "tests, openai 2.x (httpx)" pytest_in openai2 -m "not e2e" ;;
    openai1) step "tests, openai 1.x (httpx)" pytest_in openai1 -m "not e2e" ;;
    openai1-oldest) step "tests, openai 1.66.0 (the oldest supported): the instrumentation's own" \
      pytest_in openai1-oldest -m "not e2e" tests/test_*.py ;;
    coexist) step "tests beside genai-openai and OpenLLMetry" pytest_in coexist tests/coexistence ;;
    frameworks)
      if [[ -d tests/frameworks ]]; then
        # LiteLLM reads its model cost map from the internet at import unless told otherwise.
        step "tests, the frameworks (LiteLLM, pydantic-ai, LangChain, OpenAI Agents)" env LITELLM_LOCAL_MODEL_COST_MAP=True \
          "$VENVS/frameworks/bin/python" -m pytest -q -rs -p no:cacheprovider tests/frameworks
      else
        log "tests/frameworks: none in this checkout"
      fi
      ;;
  esac
}

# -rP: what passing tests printed goes to the log too (the fleet test's kept/dropped counts, metric
# totals against the calls made, and the loss to the Jaeger outage).
suite_pipeline() {
  step "tests through the built collector and Jaeger (openai 3.x)" pytest_in openai3 -m pipeline -rP
}

# The SDK's own tests, once plain and once instrumented (sdk_tests/run.py), then those of the
# clients the environment holds (ENV_CLIENTS), one step each.
sdk_suites_of() {
  local client
  case $1 in
    openai1 | openai2 | openai3) step "the openai SDK's own tests, plain and instrumented, $1" \
      "$VENVS/$1/bin/python" -m sdk_tests.run ;;
  esac
  for client in ${ENV_CLIENTS[$1]:-}; do
    step "$client's own tests, plain and instrumented, $1" "$VENVS/$1/bin/python" -m sdk_tests.run --client "$client"
  done
}

# summary: one line per step, and 1 when any failed.
summary() {
  local name status seconds failed=0
  log "summary"
  for name in "${STEPS[@]}"; do
    read -r status seconds <<<"${RESULTS[$name]}"
    if [[ $status == 0 ]]; then
      printf '  ok      %5d s  %s\n' "$seconds" "$name"
    elif [[ $status == "$NOT_RUN" ]]; then
      printf '  NOT RUN %5d s  %s (its output says why)\n' "$seconds" "$name"
    else
      printf '  FAILED  %5d s  %s (exit %s)\n' "$seconds" "$name" "$status"
      failed=1
    fi
  done
  return $failed
}
