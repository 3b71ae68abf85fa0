#!/usr/bin/env bash
# Editor-schema check: the example flag directory must validate against the JSON Schemas in
# schema/ with Taplo (what VS Code's Even Better TOML runs), and a file with a misspelled
# field must not. Taplo is the pinned npm package in this folder (package-lock.json).
#
# Usage: bash tests/taplo/check.sh        (from anywhere; installs Taplo with `npm ci` if needed)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
examples="$root/examples/flags"
taplo="$here/node_modules/.bin/taplo"

fail() {
    echo "taplo check: FAILED: $*" >&2
    exit 1
}

if [[ ! -x "$taplo" ]]; then
    echo "taplo check: installing the pinned Taplo CLI (npm ci in tests/taplo)"
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci in tests/taplo failed"
fi
[[ -x "$taplo" ]] || fail "$taplo is missing after npm ci"

# Offline on purpose: no config file lookup, no online schema catalogs (Taplo fetches none
# unless asked); the schemas come from this repository as file:// URLs.
lint() {
    "$taplo" lint --no-auto-config --colors never "$@"
}

manifest_schema="file://$root/schema/manifest.schema.json"
flags_schema="file://$root/schema/flags.schema.json"

manifests=()
flag_files=()
# Dot-files and dot-directories are not flag files (DESIGN §1), so `.flagc/` is skipped.
while IFS= read -r -d '' file; do
    if [[ "$(basename "$file")" == "flagc.toml" ]]; then
        manifests+=("$file")
    else
        flag_files+=("$file")
    fi
done < <(find "$examples" -name '.*' -prune -o -type f -name '*.toml' -print0 | sort -z)

[[ ${#manifests[@]} -eq 1 ]] || fail "expected one flagc.toml in $examples, found ${#manifests[@]}"
[[ ${#flag_files[@]} -ge 1 ]] || fail "no flag files found in $examples"

# Every file must carry the association line editors use; without it an editor (and the
# association pass below) would validate nothing.
for file in "${manifests[@]}" "${flag_files[@]}"; do
    if [[ "$(basename "$file")" == "flagc.toml" ]]; then want="manifest"; else want="flags"; fi
    rel="${file#"$examples"/}"
    up="./"
    slashes="${rel//[^\/]/}"
    if [[ -n "$slashes" ]]; then up="$(printf '../%.0s' $(seq "${#slashes}"))"; fi
    expected="#:schema ${up}.flagc/$want.schema.json"
    first="$(head -n 1 "$file")"
    [[ "$first" == "$expected" ]] \
        || fail "examples/flags/$rel: first line must be \`$expected\`, found \`$first\`"
done

# The editor copies must be the schemas in schema/ (a test elsewhere asserts this too).
for name in manifest flags; do
    cmp -s "$root/schema/$name.schema.json" "$examples/.flagc/$name.schema.json" \
        || fail "examples/flags/.flagc/$name.schema.json differs from schema/$name.schema.json"
done

log="$(mktemp)"
tmp="$(mktemp -d)"
trap 'rm -rf "$log" "$tmp"' EXIT

echo "taplo check: @taplo/cli $(node -p "require('$here/node_modules/@taplo/cli/package.json').version") ($("$taplo" --version))"

# (a) The examples are valid: explicitly against schema/, then through their `#:schema` lines.
lint --schema "$manifest_schema" "${manifests[@]}" >"$log" 2>&1 \
    || { cat "$log" >&2; fail "the example manifest does not validate against schema/manifest.schema.json"; }
lint --schema "$flags_schema" "${flag_files[@]}" >"$log" 2>&1 \
    || { cat "$log" >&2; fail "the example flag files do not validate against schema/flags.schema.json"; }
lint "${manifests[@]}" "${flag_files[@]}" >"$log" 2>&1 \
    || { cat "$log" >&2; fail "the example files do not validate through their #:schema association"; }
echo "taplo check: ok: ${#manifests[@]} manifest and ${#flag_files[@]} flag files are valid"

# (b) A misspelled field must be rejected, by both routes.
cp -R "$examples/." "$tmp/"
bad="${flag_files[0]/#$examples/$tmp}"
grep -q '^description = ' "$bad" || fail "${flag_files[0]#"$root"/} has no \`description = \` line to misspell"
sed -i '0,/^description = /s//descripton = /' "$bad"
for route in explicit association; do
    if [[ $route == explicit ]]; then args=(--schema "$flags_schema" "$bad"); else args=("$bad"); fi
    if lint "${args[@]}" >"$log" 2>&1; then
        cat "$log" >&2
        fail "taplo accepted a flag file with a misspelled field 'descripton' ($route schema)"
    fi
    grep -q "'descripton' was unexpected" "$log" || {
        cat "$log" >&2
        fail "taplo rejected the misspelled file ($route schema), but not for the misspelling"
    }
done
echo "taplo check: ok: a misspelled field ('descripton') is rejected"
