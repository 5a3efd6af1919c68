# Shared by tools/run and tools/test: create .venv if needed and install the project into it.
# Re-installs only when pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(0 if sys.version_info[:2]==(3,11) else 1)'; then
      PY="$cand"; break
    fi
  done
fi
if [ -z "$PY" ]; then echo "Python 3.11 is required" >&2; exit 1; fi
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  "$PY" -m venv "$ROOT/.venv"
fi
VPY="$ROOT/.venv/bin/python"
EXTRAS="${1:-}"
STAMP="$ROOT/.venv/.siji-installed${EXTRAS:+-$EXTRAS}"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  "$VPY" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
  if [ -n "$EXTRAS" ]; then
    "$VPY" -m pip install --quiet -e "$ROOT[$EXTRAS]"
  else
    "$VPY" -m pip install --quiet -e "$ROOT"
  fi
  touch "$STAMP"
fi
