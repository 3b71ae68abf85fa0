#!/usr/bin/env bash
# What a `flags!` call over a 1,000-flag directory adds to `cargo build` (BENCHMARKS.md,
# "Typed accessors (issue 4)", "Build time of a 1,000-flag `flags!`").
#
#   tests/accessors/build-time.sh [--runs N] [--flags N] [--worktree] [--release] [--bin]
#                                 [--profiles "dev dev+bo3 dev-noinc"] [--rev COMMIT]
#
# A throwaway crate in a temp dir depends on `flagc` and `flags-macros` by path, with a flag
# directory written by `many_flags` (the `expand` benchmark's directory: bool, int, float,
# string and enum flags, 100 a file, one to three rules each with static conditions, a
# segment, lists, comparisons and rollouts). Its `src/lib.rs` (or `src/main.rs` with --bin)
# is, in turn,
#
#   none     no macro call: a crate that depends on both crates and does not use them;
#   small    flags!("small") over the first five of those flags, and the same function as
#            dynamic: the same runtime and macro, so that dynamic − small is what the
#            other 995 flags add;
#   dynamic  flags!("flags") and a function that loads the flags and calls five accessors;
#   static   flags!("flags", env = "production", region = "eu") and the same function;
#
# and each is built with `cargo build --offline` in these profiles:
#
#   dev        the default dev profile: the proc macro and its `flagc` are unoptimised;
#   dev+bo3    dev with `[profile.dev.build-override] opt-level = 3` (macro optimised);
#   dev-noinc  dev with CARGO_INCREMENTAL=0: the probe is compiled from scratch, as in CI
#              or after a flag file changed (with incremental compilation, touching a
#              source file re-runs the macro but reuses most of rustc's work on its output);
#   release    `cargo build --release` (with --release, or in --profiles; build scripts and
#              proc macros are opt-level 0 there too unless overridden, as in dev).
#
# --profiles "dev dev+bo3 dev-noinc release" picks some (default: the first three).
#
# For each pair: one warm-up build (every dependency compiled), then N timed builds after
# touching the source file (only the probe crate recompiles, which the script checks), and
# the same with `cargo check`. Medians are printed with min and max. For dev and dev-noinc,
# rustc's own phase times of the dynamic and static probes follow (`-Ztime-passes`, through
# RUSTC_BOOTSTRAP=1): `expand_crate` is the macro's run inside rustc. Then the expansion alone
# — read, check, generate, to text: what the macro does — is timed in a build script, with
# the `flagc` the macro itself was built with (opt-level 0 and 3), which splits the build
# time into "the macro runs" and "rustc compiles what it emitted".
#
# By default the crates are taken from the commit HEAD (`git archive`; --rev picks another),
# so that numbers name a commit even while the working tree is being edited; --worktree
# uses the working tree as it is. Dependencies come from the workspace's Cargo.lock,
# offline; the target directory ($BUILD_TIME_TARGET, default target/build-time under the
# workspace) and the commit's files (in it, src-<commit>) are kept, so a rerun at the same
# commit builds nothing before it measures; it takes ~7 GB (every dependency in four
# builds: host and target, opt-level 0 and 3, build and check): delete it when done. The
# probe crates live in a temp dir, removed on exit. The flag directory is written by the
# commit's `thousand_flags` example, so the commit's `flagc-accessor-tests` must build.
set -euo pipefail
{ # the whole script is parsed before it runs: editing it meanwhile is harmless

runs=5
nflags=1000
worktree=0
revspec=HEAD
release=0
bin=0
profiles=(dev dev+bo3 dev-noinc)
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --flags) nflags="$2"; shift 2 ;;
        --worktree) worktree=1; shift ;;
        --rev) revspec="$2"; shift 2 ;;
        --release) release=1; shift ;;
        --bin) bin=1; shift ;;
        --profiles) read -r -a profiles <<<"$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

ws="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cargo="${CARGO:-cargo}"
target="${BUILD_TIME_TARGET:-$ws/target/build-time}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/flagc-build-time.XXXXXX")"
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

log() { printf '%s\n' "$*" >&2; }

# --- the crates under test -------------------------------------------------------------
if [[ $worktree == 1 ]]; then
    src="$ws"
    rev="$(git -C "$ws" rev-parse --short HEAD) + working tree"
    if [[ -n "$(git -C "$ws" status --porcelain -- flagc flags-macros Cargo.lock)" ]]; then
        rev="$rev (flagc/flags-macros modified)"
    fi
else
    rev="$(git -C "$ws" rev-parse --short "$revspec^{commit}")"
    # Kept next to the target directory: the same paths, so a rerun at the same commit
    # rebuilds nothing.
    src="$target/src-$rev"
    if [[ ! -f "$src/.complete" ]]; then
        rm -rf "$src"
        mkdir -p "$src"
        git -C "$ws" archive "$rev" | tar -x -C "$src"
        touch "$src/.complete"
    fi
fi
export CARGO_TARGET_DIR="$target"
export CARGO_TERM_COLOR=never
unset SOURCE_DATE_EPOCH RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_INCREMENTAL || true

# --- the flag directory: the real generator, `many_flags::write` --------------------------
probe="$tmp/probe"
mkdir -p "$probe/src"
log "writing $nflags flags (cargo run -p flagc-accessor-tests --example thousand_flags)…"
(cd "$src" && "$cargo" run --offline --quiet -p flagc-accessor-tests --example thousand_flags \
    -- "$probe/flags" "$nflags" \
    && "$cargo" run --offline --quiet -p flagc-accessor-tests --example thousand_flags \
    -- "$probe/small" 5)

# --- the probe crate -------------------------------------------------------------------
cp "$src/Cargo.lock" "$probe/Cargo.lock"
manifest() { # $1: extra profile tables
    cat > "$probe/Cargo.toml" <<EOF
[package]
name = "flags-build-time-probe"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
flagc = { path = "$src/flagc" }
flags-macros = { path = "$src/flags-macros" }

[workspace]

$1
EOF
}

user_code='
/// Loads the flags and calls five accessors (one of each type).
pub fn probe(dir: &str) -> Result<String, Box<dyn std::error::Error>> {
    let flags = flags::load(dir, flags::Statics { env: flags::Env::Production, region: flags::Region::Eu })?;
    let ctx = flags::Context::new()
        .user_id("u-1042")
        .country("US")
        .plan(flags::Plan::Enterprise)
        .app_version("4.2.0")?
        .cart_total(120.0)
        .groups(["beta"]);
    Ok(format!(
        "{} {} {} {} {}",
        flags.flag_0000(&ctx),
        flags.flag_0001(&ctx),
        flags.flag_0002(&ctx),
        flags.flag_0003(&ctx),
        flags.flag_0004(&ctx),
    ))
}
'
if [[ $bin == 1 ]]; then
    file="$probe/src/main.rs"
    tail='
fn main() {
    println!("{:?}", probe(flags::DIR).map_err(|e| e.to_string()));
}
'
    none_code='fn main() { println!("{}", std::hint::black_box(42)); }'
else
    file="$probe/src/lib.rs"
    tail=''
    none_code='/// No macro call.
pub fn probe() -> u32 { 42 }'
fi
source_for() { # $1: variant
    case "$1" in
        none) printf '%s\n' "$none_code" ;;
        small) printf 'flags_macros::flags!("small");\n%s%s' "$user_code" "$tail" ;;
        dynamic) printf 'flags_macros::flags!("flags");\n%s%s' "$user_code" "$tail" ;;
        static) printf 'flags_macros::flags!("flags", env = "production", region = "eu");\n%s%s' \
            "$user_code" "$tail" ;;
    esac
}

# Seconds (wall) of one command, which must succeed and must have recompiled the probe.
timed() {
    local start end out
    start=$(date +%s.%N)
    if ! out="$("$@" 2>&1)"; then
        log "failed: $*"; log "$out"; exit 1
    fi
    end=$(date +%s.%N)
    if ! grep -q 'flags-build-time-probe' <<<"$out"; then
        log "the probe was not rebuilt by: $*"; log "$out"; exit 1
    fi
    if grep -q '^\s*Compiling \(flagc\|flags-macros\) ' <<<"$out"; then
        log "a dependency was rebuilt during a timed run: $*"; log "$out"; exit 1
    fi
    echo "$end - $start" | bc -l
}

# "median (min–max)" of the numbers on stdin.
summary() {
    sort -g | awk '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.2f s (%.2f–%.2f)", m, v[1], v[NR] }'
}
median() { sort -g | awk '{ v[NR] = $1 } END {
    printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

[[ $release == 1 ]] && profiles+=(release)
variants=(none small dynamic static)
declare -A build check build_m expand_bytes
load_before="$(uptime | sed 's/.*load average: //')"
for profile in "${profiles[@]}"; do
    case "$profile" in
        dev) manifest ''; flags=() ;;
        dev+bo3) manifest $'[profile.dev.build-override]\nopt-level = 3'; flags=() ;;
        dev-noinc) manifest ''; flags=() ;;
        release) manifest ''; flags=(--release) ;;
        *) log "unknown profile $profile"; exit 2 ;;
    esac
    if [[ $profile == dev-noinc ]]; then export CARGO_INCREMENTAL=0; else unset CARGO_INCREMENTAL; fi
    for variant in "${variants[@]}"; do
        rm -f "$probe/src/"*.rs
        source_for "$variant" > "$file"
        log "$profile / $variant: warming up…"
        (cd "$probe" && "$cargo" build --offline --quiet "${flags[@]}" \
            && "$cargo" check --offline --quiet "${flags[@]}")
        b=() c=()
        for ((i = 0; i < runs; i++)); do
            sleep 0.1; touch "$file"
            t="$(cd "$probe" && timed "$cargo" build --offline "${flags[@]}")"; b+=("$t")
            sleep 0.1; touch "$file"
            t="$(cd "$probe" && timed "$cargo" check --offline "${flags[@]}")"; c+=("$t")
        done
        build[$profile/$variant]="$(printf '%s\n' "${b[@]}" | summary)"
        check[$profile/$variant]="$(printf '%s\n' "${c[@]}" | summary)"
        build_m[$profile/$variant]="$(printf '%s\n' "${b[@]}" | median)"
        log "  build ${build[$profile/$variant]}, check ${check[$profile/$variant]}"
    done
done

# --- rustc's own account: its expansion phase, with the macro in it ------------------------
# The probe's rustc command as cargo runs it (`cargo build -v`), rerun with `-Ztime-passes`
# (`RUSTC_BOOTSTRAP=1`): `expand_crate` is the macro's run inside rustc, including building
# its tokens through the proc-macro bridge, and `total` the whole compile of the crate. With
# `-C incremental` (dev) the rerun reuses the same incremental cache, as a rebuild would.
declare -A passes_expand passes_total
for profile in "${profiles[@]}"; do
    [[ $profile == dev || $profile == dev-noinc ]] || continue
    manifest ''
    if [[ $profile == dev-noinc ]]; then export CARGO_INCREMENTAL=0; else unset CARGO_INCREMENTAL; fi
    for variant in dynamic static; do
        rm -f "$probe/src/"*.rs
        source_for "$variant" > "$file"
        touch "$file"
        cmd="$(cd "$probe" && "$cargo" build --offline -v 2>&1 \
            | sed -n 's/^ *Running `\(.*--crate-name flags_build_time_probe .*\)`$/\1/p' \
            | sed 's/--error-format=json //; s/--json=[^ ]* //')"
        [[ -n $cmd ]] || { log "no rustc command for the probe ($profile / $variant)"; exit 1; }
        e=() t=()
        for ((i = 0; i < runs; i++)); do
            touch "$file"
            out="$(cd "$probe" && CARGO_MANIFEST_DIR="$probe" RUSTC_BOOTSTRAP=1 \
                eval "$cmd -Ztime-passes" 2>&1)"
            e+=("$(awk '$NF == "expand_crate" { sub(";", "", $2); print $2 }' <<<"$out")")
            t+=("$(awk '$NF == "total" { sub(";", "", $2); print $2 }' <<<"$out")")
        done
        passes_expand[$profile/$variant]="$(printf '%s\n' "${e[@]}" | summary)"
        passes_total[$profile/$variant]="$(printf '%s\n' "${t[@]}" | summary)"
        log "$profile / $variant: rustc expand_crate ${passes_expand[$profile/$variant]}, total ${passes_total[$profile/$variant]}"
    done
done

# --- the expansion alone: the macro's work, timed in a build script -------------------------
# A build script's dependencies are compiled like a proc macro's (host, `build-override`), so
# this `flagc` is the very library the macro ran above, unoptimised (dev) or at opt-level 3
# (dev+bo3): nothing new is compiled.
timer="$tmp/expand-timer"
mkdir -p "$timer/src"
cp "$src/Cargo.lock" "$timer/Cargo.lock"
echo 'fn main() {}' > "$timer/src/main.rs"
cat > "$timer/build.rs" <<'EOF'
//! What `flags!` does, timed: read and check the directory, generate the module, to text.
use std::time::Instant;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let dir = std::path::PathBuf::from(env!("FLAGS_DIR"));
    let runs: usize = env!("FLAGS_RUNS").parse().expect("runs");
    let mut report = String::new();
    let statics = vec![("env".to_owned(), "production".to_owned()), ("region".to_owned(), "eu".to_owned())];
    for (mode, statics) in [("dynamic", None), ("static", Some(statics))] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..runs {
            let start = Instant::now();
            let checked = flagc::check_dir(&dir, &flagc::CheckOptions::default()).expect("readable");
            let model = checked.model.expect("valid");
            let options = flagc::codegen::Options {
                dir: "flags".to_owned(),
                statics: statics.clone(),
                today: flagc::check::today_utc(),
            };
            let code = flagc::codegen::generate(&model, &checked.sources, &options).expect("generates");
            bytes = code.to_string().len();
            times.push(start.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        report += &format!("{mode} {:.3} {bytes}\n", times[times.len() / 2]);
    }
    std::fs::write(env!("FLAGS_OUT"), report).expect("write the report");
}
EOF
unset CARGO_INCREMENTAL
declare -A expand
for profile in dev dev+bo3; do
    override=''
    [[ $profile == dev+bo3 ]] && override=$'[profile.dev.build-override]\nopt-level = 3'
    cat > "$timer/Cargo.toml" <<EOF
[package]
name = "flags-expand-timer"
version = "0.0.0"
edition = "2024"
publish = false

[build-dependencies]
flagc = { path = "$src/flagc", features = ["codegen"] }

[workspace]

$override
EOF
    log "expansion alone ($profile)…"
    touch "$timer/build.rs"
    (cd "$timer" && FLAGS_DIR="$probe/flags" FLAGS_RUNS="$runs" FLAGS_OUT="$timer/out.txt" \
        "$cargo" build --offline --quiet)
    while read -r mode secs bytes; do
        expand[$profile/$mode]="$secs"
        expand_bytes[$mode]="$bytes"
    done < "$timer/out.txt"
done

# --- the table -----------------------------------------------------------------------------
kind=$([[ $bin == 1 ]] && echo "bin crate" || echo "lib crate")
echo
echo "flags! over $nflags flags, $kind, $rev; $runs runs each, median (min–max), wall"
echo "rustc $(rustc --version | cut -d' ' -f2); load before: $load_before"
echo
echo "| profile | what | cargo build | cargo check |"
echo "|---|---|---|---|"
for profile in "${profiles[@]}"; do
    for variant in "${variants[@]}"; do
        echo "| $profile | $variant | ${build[$profile/$variant]} | ${check[$profile/$variant]} |"
    done
done
echo
echo "| profile | dynamic − none | static − none | dynamic − small |"
echo "|---|---|---|---|"
for profile in "${profiles[@]}"; do
    n="${build_m[$profile/none]}"
    m="${build_m[$profile/small]}"
    printf '| %s | %+.2f s | %+.2f s | %+.2f s |\n' "$profile" \
        "$(echo "${build_m[$profile/dynamic]} - $n" | bc -l)" \
        "$(echo "${build_m[$profile/static]} - $n" | bc -l)" \
        "$(echo "${build_m[$profile/dynamic]} - $m" | bc -l)"
done
if [[ ${#passes_expand[@]} -gt 0 ]]; then
    echo
    echo "rustc -Ztime-passes on the probe: expand_crate (the macro's run, bridge included) and total:"
    echo "| profile | mode | expand_crate | total |"
    echo "|---|---|---|---|"
    for profile in "${profiles[@]}"; do
        for mode in dynamic static; do
            [[ -n ${passes_expand[$profile/$mode]:-} ]] || continue
            echo "| $profile | $mode | ${passes_expand[$profile/$mode]} | ${passes_total[$profile/$mode]} |"
        done
    done
fi
echo
echo "expansion alone (read, check, generate, to text; the macro's compiled flagc, median of $runs):"
echo "| mode | dev (opt-level 0) | dev+bo3 (opt-level 3) | generated |"
echo "|---|---|---|---|"
for mode in dynamic static; do
    printf '| %s | %.2f s | %.2f s | %d KB |\n' "$mode" "${expand[dev/$mode]}" "${expand[dev+bo3/$mode]}" \
        "$((expand_bytes[$mode] / 1000))"
done
echo "load after: $(uptime | sed 's/.*load average: //')"
exit
}
