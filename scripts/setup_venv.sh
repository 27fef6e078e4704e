# Sourced by demo.sh and test.sh: creates .venv if missing and installs the
# package (with the test extras when KERAS_PFS_EXTRAS=test).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
extras="${KERAS_PFS_EXTRAS:-}"
stamp=".venv/.keras-pfs-installed${extras:+-$extras}"
if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}"
  touch "$stamp"
fi
export KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=3
