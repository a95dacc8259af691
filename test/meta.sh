#!/usr/bin/env bash
# Packaging facts that drift silently: META.json names the
# version in sandbox.control, and the install script for that version exists.
# (sed, not a JSON parser: a fresh Debian machine may have no python3.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$here/.."

control=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" sandbox.control)
# the first two "version" lines are the distribution's and the extension's
versions=$(sed -n 's/^ *"version": "\([^"]*\)".*/\1/p' META.json | head -n 2 | tr '\n' ' ')
file=$(sed -n 's/^ *"file": "\([^"]*\)".*/\1/p' META.json)
meta="$versions$file"
check "META.json versions follow sandbox.control ($control)" "$control.0 $control.0 sandbox--$control.sql" "$meta"
check "the install script for the default version exists" yes "$([ -f "sandbox--$control.sql" ] && echo yes || echo no)"
check "the install script starts with the CREATE EXTENSION guard" \
	'\echo Use "CREATE EXTENSION sandbox" to load this file. \quit' "$(head -n 1 "sandbox--$control.sql")"
exit $failed
