# Shared by .ci/setup and .ci/setup-tests (sourced, not run).
PYTHON=${PYTHON:-python3}

# Install the Debian packages given that are not installed yet.
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "setup: need root to install: ${missing[*]}" >&2; exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# A new log file under .work/logs/ for one build step; earlier runs' logs stay.
log_file() {
  mkdir -p .work/logs
  local f
  f=.work/logs/$(date -u +%Y%m%dT%H%M%SZ)-$1.log
  ln -sfn "$(basename "$f")" ".work/logs/$1.latest.log"
  echo "$f"
}

# The venv in .venv/ with Berth installed editable with the given requirement ('.' or '.[dev]');
# pip is skipped while pyproject.toml and the requirement are what the last install had.
venv_install() {
  local want=$1 stamp key
  if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
  fi
  mkdir -p .work
  key="$want $(sha256sum pyproject.toml | cut -c1-64) $(readlink -f .venv)"
  stamp=.work/venv-$( [ "$want" = . ] && echo main || echo dev ).stamp
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && [ -x .venv/bin/berth ]; then
    return 0
  fi
  local log
  log=$(log_file "pip-$(basename "$stamp" .stamp)")
  .venv/bin/pip install -e "$want" >"$log" 2>&1 || { tail -30 "$log"; exit 1; }
  echo "$key" >"$stamp"
}
