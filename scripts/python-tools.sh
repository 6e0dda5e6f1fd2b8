#!/bin/sh
# Installs the Python tools the SBOM tests validate with, in a project-local venv made from
# Debian's python3 (python3-venv, from scripts/deps.sh): target/pytools/ (or $MINROOT_PYTOOLS).
#   pyspdxtools  (PyPI spdx-tools): the SPDX project's own parser and validator
#   cyclonedx    (PyPI cyclonedx-python-lib[json-validation]): ships the official CycloneDX
#                JSON schemas (1.5 among them) and a strict validator for them
# The venv is rebuilt only when the list of requirements changed (stamp file).
# Usage: scripts/python-tools.sh
set -eu
cd "$(dirname "$0")/.."
DIR="${MINROOT_PYTOOLS:-$PWD/target/pytools}"
REQS="spdx-tools==0.8.5 cyclonedx-python-lib[json-validation]==11.12.0"
stamp="$DIR/minroot.stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$REQS" ] && [ -x "$DIR/bin/pyspdxtools" ]; then
    echo "pytools: up to date ($DIR)" >&2
    exit 0
fi
rm -rf "$DIR"
/usr/bin/python3 -m venv "$DIR"
# shellcheck disable=SC2086
"$DIR/bin/pip" install --quiet --disable-pip-version-check $REQS
"$DIR/bin/python" -c 'import cyclonedx.validation.json, spdx_tools'
echo "$REQS" > "$stamp"
echo "pytools: installed in $DIR" >&2
