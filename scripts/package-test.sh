#!/usr/bin/env bash
# package-test.sh — build the Debian package, install it, and use it as an operator would.
#
#   scripts/package-test.sh        (root, on Debian; scripts/test.sh runs it after cargo test)
#
#   1. cargo deb: the package of the binary cargo test just built (the dev profile, stripped:
#      no second, release build in CI; FOI_PACKAGE_PROFILE=release for a release package)
#   2. dpkg -i; the installed config passes `config check --offline`; `classify` works from /
#      with the built-in rules
#   3. the installed binary runs as the service user foi-triage (the unit's ExecStartPre and
#      ExecStart, through setpriv: CI has no systemd as PID 1 to start the unit) against a mail
#      stack of its own (scripts/mailstack.sh, /var/tmp/foi-package-test, port base 31000), with
#      the installed config, rules, templates and routing; one request arrives and its
#      acknowledgement is delivered
#   4. dpkg -r: the binary is gone, /var/lib/foi-triage and the conffiles are kept;
#      dpkg -P: both gone
# Not root or no dpkg: SKIPPED, exit 0. It refuses to touch a foi-triage installed by anyone else.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

if [ "$(id -u)" != 0 ]; then
  echo "package-test: SKIPPED, needs root (dpkg -i, the service user)"; exit 0
fi
if ! command -v dpkg >/dev/null; then
  echo "package-test: SKIPPED, not a Debian system (no dpkg)"; exit 0
fi
ETC=/etc/foi-triage
TEST_CONFIG=$ETC/package-test.toml
if dpkg -s foi-triage >/dev/null 2>&1 && [ ! -e "$TEST_CONFIG" ]; then
  echo "package-test: foi-triage is installed here and not by this script; it would be purged: remove it first" >&2
  exit 1
fi

bash scripts/install-deps.sh --package
DIR=/var/tmp/foi-package-test
start=$(date +%s)
fail() { echo "package-test: FAILED: $*" >&2; exit 1; }
cleanup() {
  [ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null || true
  bash scripts/mailstack.sh stop "$DIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== package-test: cargo deb (${FOI_PACKAGE_PROFILE:-dev} profile)"
t=$(date +%s)
profile=${FOI_PACKAGE_PROFILE:-dev}
cargo build --locked --quiet --profile "$profile" --bin foi-triage
deb=$(cargo deb --no-build --profile "$profile" --quiet 2>/dev/null | tail -n1)
[ -f "$deb" ] || fail "cargo deb made no package ($deb)"
echo "package-test: $deb, $(du -h "$deb" | cut -f1), built in $(( $(date +%s) - t )) s"

echo "== package-test: dpkg -i"
dpkg -P foi-triage >/dev/null 2>&1 || true   # a previous run's leftovers (see the check above)
rm -f "$TEST_CONFIG" "$ETC/package-test-imap-password"
dpkg -i "$deb" >/dev/null
[ -x /usr/bin/foi-triage ] || fail "no /usr/bin/foi-triage"
getent passwd foi-triage >/dev/null || fail "no system user foi-triage"
[ "$(stat -c %U:%a /var/lib/foi-triage)" = "foi-triage:700" ] || fail "/var/lib/foi-triage: $(stat -c %U:%a /var/lib/foi-triage)"
[ "$(stat -c %U:%G:%a $ETC/reply-secret)" = "root:foi-triage:640" ] || fail "$ETC/reply-secret: $(stat -c %U:%G:%a $ETC/reply-secret)"
for f in foi-triage.toml routing.toml rules/foi.toml templates/ack_foi/cy/body.html.j2; do
  grep -qx "$ETC/$f" /var/lib/dpkg/info/foi-triage.conffiles || fail "$ETC/$f is not a conffile"
done
/usr/bin/foi-triage config check --offline --config $ETC/foi-triage.toml
(cd / && /usr/bin/foi-triage classify "$repo/tests/data/samples/foi-001-parking-spend.eml") >"$DIR.classify" 2>&1 \
  || fail "classify from /: $(cat "$DIR.classify")"
grep -q "rules built into foi-triage" "$DIR.classify" && grep -q ": foi " "$DIR.classify" \
  || fail "classify from / did not use the built-in rules: $(cat "$DIR.classify")"
rm -f "$DIR.classify"

echo "== package-test: the installed daemon as user foi-triage against a mail stack"
# A fresh stack: an earlier run's mail must not pass for this run's acknowledgement.
bash scripts/mailstack.sh stop "$DIR" >/dev/null 2>&1 || true
rm -rf "$DIR"
MAILSTACK_PORT_BASE=31000 bash scripts/mailstack.sh start "$DIR" >/dev/null
set -a; . "$DIR/env"; set +a
# The installed config with the stack's ports and password, beside it so its relative paths
# (rules, templates, routing, reply-secret) are the installed ones.
printf '%s\n' "$MAILSTACK_PASSWORD" > "$ETC/package-test-imap-password"
chown root:foi-triage "$ETC/package-test-imap-password"; chmod 640 "$ETC/package-test-imap-password"
sed -e "s/^port = 143$/port = $MAILSTACK_IMAP_PORT/" -e "s/^port = 25$/port = $MAILSTACK_SMTP_PORT/" \
    -e 's/^password_file = "imap-password"$/password_file = "package-test-imap-password"/' \
    "$ETC/foi-triage.toml" > "$TEST_CONFIG"
grep -q "port = $MAILSTACK_SMTP_PORT" "$TEST_CONFIG" || fail "could not point $TEST_CONFIG at the stack"
as_service() { setpriv --reuid=foi-triage --regid=foi-triage --init-groups -- "$@"; }
# The unit's ExecStartPre, then its ExecStart.
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/foi-triage.service)
[ "$exec_start" = "/usr/bin/foi-triage run --config $ETC/foi-triage.toml" ] || fail "ExecStart is $exec_start"
as_service /usr/bin/foi-triage config check --config "$TEST_CONFIG" >/dev/null
(cd / && umask 077 && exec setpriv --reuid=foi-triage --regid=foi-triage --init-groups -- \
  ${exec_start/$ETC\/foi-triage.toml/$TEST_CONFIG}) 2>"$DIR/daemon.log" &
daemon=$!
python3 - "$MAILSTACK_SMTP_PORT" "$repo/tests/data/samples/foi-001-parking-spend.eml" <<'PY'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10) as s:
    s.sendmail("eleanor.marsh@example.org", ["foi@council.example.gov.uk"], open(sys.argv[2], "rb").read())
PY
ack=""
for _ in $(seq 1 120); do
  ack=$(grep -l "^Subject:.*FOI-[0-9]" "$DIR"/mail/eleanor.marsh/new/* 2>/dev/null | head -n1 || true)
  [ -n "$ack" ] && break
  kill -0 "$daemon" 2>/dev/null || fail "the daemon stopped: $(tail -n 20 "$DIR/daemon.log")"
  sleep 0.5
done
[ -n "$ack" ] || fail "no acknowledgement within 60 s: $(tail -n 20 "$DIR/daemon.log")"
echo "package-test: acknowledgement delivered: $(grep -m1 '^Subject:' "$ack")"
kill -TERM "$daemon"; wait "$daemon" || fail "the daemon did not stop cleanly: $(tail -n 5 "$DIR/daemon.log")"
daemon=""
grep -q $'\x1b\[' "$DIR/daemon.log" && fail "colour codes in the daemon's log"
[ -n "$(ls -A /var/lib/foi-triage)" ] || fail "the daemon wrote no store"
[ -z "$(find /var/lib/foi-triage ! -user foi-triage)" ] || fail "files in the store not the service user's"

echo "== package-test: dpkg -r keeps the data and the config, dpkg -P removes them"
rm -f "$TEST_CONFIG" "$ETC/package-test-imap-password"
dpkg -r foi-triage >/dev/null
[ ! -e /usr/bin/foi-triage ] || fail "dpkg -r left /usr/bin/foi-triage"
[ -n "$(ls -A /var/lib/foi-triage)" ] || fail "dpkg -r removed the case store"
[ -f $ETC/foi-triage.toml ] && [ -f $ETC/reply-secret ] || fail "dpkg -r removed the config"
dpkg -P foi-triage >/dev/null
[ ! -e /var/lib/foi-triage ] || fail "dpkg -P left /var/lib/foi-triage"
[ ! -e $ETC ] || fail "dpkg -P left $ETC: $(ls -A $ETC)"
echo "package-test: OK in $(( $(date +%s) - start )) s"
