#!/usr/bin/env bash
# Fuzzes what an outsider's bytes reach: the whole message pipeline (parse → triage with the
# repository's rules → validate → the ingest planner), the in-process attachment decoders, and the
# TOML readers an officer's files go through. cargo-fuzz (libFuzzer) on the nightly toolchain;
# what each target does is in fuzz/harness.rs.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS (default 1800) is the whole run, shared by the targets (pipeline, decoders,
# toml_readers; default all three), the pipeline getting half. One core, one job per target.
# Seeds are rebuilt on every run from ../shared/corpus, tests/data/ and the saved regressions,
# never committed; what libFuzzer learns is kept for the next run in $FOI_FUZZ_CORPUS (default
# $CARGO_TARGET_DIR/fuzz-work/corpus; the suite's bounded run starts from an empty one, since
# replaying a large learnt corpus alone can take longer than its time budget).
#
# A crash stops the run with a non-zero exit and leaves its input in fuzz/artifacts/TARGET/.
# Copy that file to tests/data/fuzz-regressions/TARGET/ (the ordinary `cargo test` replays every
# file there through the same harness: tests/fuzz_regressions.rs) and fix the bug.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

total=${1:-1800}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(pipeline decoders toml_readers)

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: no nightly toolchain (rustup toolchain list); cargo-fuzz needs one" >&2
  exit 1
fi
command -v cargo-fuzz >/dev/null || bash scripts/install-deps.sh

target_dir=${CARGO_TARGET_DIR:-$root/target}
work=$target_dir/fuzz-work
corpus=${FOI_FUZZ_CORPUS:-$work/corpus}
# Release as deployed, no sanitizer: the code under test is safe Rust (ASan would find nothing the
# panics do not, at twice the memory and a third the speed). No debug assertions: mail-parser
# 0.11 has a `debug_assert!(false)` that malformed MIME reaches (tests/data/fuzz-regressions/
# pipeline/mail-parser-invalid-part-id.eml); release builds skip it and read on, debug builds
# panic and `core::parse` catches it, but libFuzzer would stop on it every run. The harness's own
# checks are plain `assert!`s, so they hold here too.
build_flags=(--release --sanitizer none --target-dir "$target_dir/fuzz")

# Seeds for one target, rebuilt from scratch (files only, flat, named by their path).
seed() {
  local target=$1 dir=$work/seeds/$1
  rm -rf "$dir"
  mkdir -p "$dir" "$corpus/$target"
  local -a files=()
  case $target in
    pipeline)
      [ -d ../shared/corpus ] || echo "fuzz: ../shared/corpus is absent; seeding from tests/data only" >&2
      mapfile -t files < <(find ../shared/corpus tests/data/hostile tests/data/samples \
        -type f \( -name '*.eml' -o -name '*.txt' \) 2>/dev/null)
      ;;
    decoders)
      # The harness reads the first byte as the declared type (0 DOCX, 1 ODT, 2 RTF, 3 HTML,
      # 4 text); the rest is the file.
      local n=0 f
      for f in tests/data/parse/letter.docx:0 tests/data/parse/bomb.docx:0 \
        tests/data/parse/bomb-lying-size.docx:0 tests/data/parse/letter.odt:1 \
        tests/data/parse/letter.rtf:2; do
        { printf "\\x0${f##*:}"; cat "${f%:*}"; } >"$dir/seed-$n"
        n=$((n + 1))
      done
      printf '\x03<html><body><p>Dear FOI team,</p><script>x</script></body></html>' >"$dir/seed-html"
      printf '\x04Dear FOI team, please send me the figures.' >"$dir/seed-text"
      ;;
    toml_readers)
      mapfile -t files < <(find rules data routing.toml foi-triage.example.toml -type f -name '*.toml')
      ;;
  esac
  local f
  for f in "${files[@]}"; do
    local name=${f#../}
    cp "$f" "$dir/${name//\//_}"
  done
  if [ -d "tests/data/fuzz-regressions/$target" ]; then
    cp tests/data/fuzz-regressions/"$target"/* "$dir/" 2>/dev/null || true
  fi
}

weight() { [ "$1" = pipeline ] && echo 2 || echo 1; }
sum=0
for t in "${targets[@]}"; do sum=$((sum + $(weight "$t"))); done

mkdir -p "$work"
if ! (cd fuzz && cargo +nightly fuzz build "${build_flags[@]}" >"$work/build.log" 2>&1); then
  tail -n 40 "$work/build.log" >&2
  echo "fuzz: the targets do not build (log: $work/build.log)" >&2
  exit 1
fi
status=0
for t in "${targets[@]}"; do
  seconds=$((total * $(weight "$t") / sum))
  [ "$seconds" -ge 1 ] || seconds=1
  seed "$t"
  echo "== fuzz $t for ${seconds}s (seeds: $(ls "$work/seeds/$t" | wc -l))"
  # -max_len: the largest seed message is under 1 MiB. -timeout: one input taking 20 s is a hang.
  # -rss_limit_mb: a message that needs 2 GiB is a memory bomb the daemon must not let through.
  if ! (cd fuzz && cargo +nightly fuzz run "${build_flags[@]}" "$t" \
    "$corpus/$t" "$work/seeds/$t" -- \
    -max_total_time="$seconds" -max_len=1048576 -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 2>"$work/$t.log"); then
    status=1
    echo "fuzz $t FAILED (log: $work/$t.log):" >&2
    # The panic and the reproduction line; the input itself is in fuzz/artifacts/$t/.
    grep -E -A3 "panicked at|ERROR: libFuzzer" "$work/$t.log" | cut -c1-300 >&2 || true
    grep -E "^\s+cargo fuzz run" "$work/$t.log" >&2 || true
    continue
  fi
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^Done' "$work/$t.log" || true
done
exit $status
