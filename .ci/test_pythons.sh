#!/usr/bin/env bash
# `make test-pythons`: the pytest suite on every supported Python found on this machine,
# each in its own venv (.venv-3.X, an editable install with the dev extra, rebuilt when
# pyproject.toml changes). Missing versions are reported and skipped; the exit status
# is non-zero if any interpreter's run failed or none was found.
#
#   .ci/test_pythons.sh [pytest args...]        PYTHONS="3.12 3.13" .ci/test_pythons.sh tests/sdk
set -uo pipefail
cd "$(dirname "$0")/.."

versions=${PYTHONS:-"3.11 3.12 3.13 3.14"}
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}

find_python() {  # the first working interpreter for version $1, on PATH or under pyenv
    local v=$1 candidate
    for candidate in "python$v" "$pyenv_root"/versions/"$v".*/bin/python "/usr/bin/python$v"; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$v'.split('.'))))" 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

summary=()
status=0
ran=0
for v in $versions; do
    if ! py=$(find_python "$v"); then
        summary+=("Python $v: not found, skipped")
        continue
    fi
    venv=".venv-$v"
    if [ ! -f "$venv/.installed-dev" ] || [ pyproject.toml -nt "$venv/.installed-dev" ]; then
        echo "== Python $v ($py): installing into $venv"
        { "$py" -m venv "$venv" &&
            "$venv/bin/python" -m pip install --quiet --upgrade pip &&
            "$venv/bin/python" -m pip install --quiet -e '.[dev]' &&
            touch "$venv/.installed-dev"; } || {
            summary+=("Python $v: install FAILED")
            status=1
            continue
        }
    fi
    echo "== Python $v: pytest $*"
    start=$(date +%s)
    "$venv/bin/python" -m pytest -q "$@"
    rc=$?
    ran=$((ran + 1))
    took=$(($(date +%s) - start))
    if [ $rc -eq 0 ]; then
        summary+=("Python $v: passed in ${took}s")
    else
        summary+=("Python $v: FAILED (pytest exit $rc) in ${took}s")
        status=1
    fi
done

echo "== test-pythons summary"
printf '  %s\n' "${summary[@]}"
if [ $ran -eq 0 ]; then
    echo "  no supported Python found"
    exit 1
fi
exit $status
