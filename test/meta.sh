#!/usr/bin/env bash
# Packaging facts that drift silently: META.json is valid JSON and names the
# version in sandbox.control, and the install script for that version exists.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."

control=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" sandbox.control)
meta=$(python3 -c 'import json; m = json.load(open("META.json")); print(m["version"], m["provides"]["sandbox"]["version"], m["provides"]["sandbox"]["file"])')
check "META.json versions follow sandbox.control ($control)" "$control.0 $control.0 sandbox--$control.sql" "$meta"
check "the install script for the default version exists" yes "$([ -f "sandbox--$control.sql" ] && echo yes || echo no)"
check "the install script starts with the CREATE EXTENSION guard" \
	'\echo Use "CREATE EXTENSION sandbox" to load this file. \quit' "$(head -n 1 "sandbox--$control.sql")"
exit $failed
