#!/usr/bin/env bash
# demo.sh — run foi-triage against a local mail stack, with a demo mailbox of sample requests.
#
#   scripts/demo.sh            install what is missing, start Dovecot + Postfix on 127.0.0.1
#                              (state in /var/tmp/foi-demo), put 20 sample requests in the shared
#                              mailbox (first run only), build and run the daemon in the foreground.
#                              Ctrl-C stops the daemon cleanly.
#   scripts/demo.sh stop       stop the demo mail stack.
#   scripts/demo.sh reset      stop it and delete /var/tmp/foi-demo (cases, mailboxes, everything).
#
# While it runs, acknowledgements arrive in the requesters' mailboxes on the stack:
#   ls /var/tmp/foi-demo/mail/*/new/          (one Maildir per requester; the shared mailbox is "foi")
# After Ctrl-C, the cases:
#   target/debug/foi-triage case list --config /var/tmp/foi-demo/foi-triage.toml
# Send more mail to the shared mailbox foi@council.example on 127.0.0.1 port $SMTP (see the banner).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
DIR=${FOI_DEMO_DIR:-/var/tmp/foi-demo}

case "${1:-run}" in
  stop) exec bash scripts/mailstack.sh stop "$DIR" ;;
  reset) bash scripts/mailstack.sh stop "$DIR" || true; rm -rf "$DIR"; exit 0 ;;
  run) ;;
  *) echo "usage: scripts/demo.sh [run|stop|reset]" >&2; exit 2 ;;
esac

bash scripts/install-deps.sh
command -v curl >/dev/null || {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends curl ca-certificates >/dev/null
}
MAILSTACK_PORT_BASE=${MAILSTACK_PORT_BASE:-10000} bash scripts/mailstack.sh start "$DIR" >/dev/null
set -a; . "$DIR/env"; set +a

printf '%s' "$MAILSTACK_PASSWORD" > "$DIR/imap-password"
chmod 600 "$DIR/imap-password"
cat > "$DIR/foi-triage.toml" <<CONF
# Written by scripts/demo.sh: the demo council against the local mail stack in $DIR.
[organisation]
name = "Example Borough Council (demo)"
region = "england-and-wales"

[mailbox]
address = "foi@council.example"

[paths]
data_dir = "$DIR/data"
rules_dir = "$repo/rules"
templates_dir = "$repo/templates"

[imap]
host = "localhost"
port = $MAILSTACK_IMAPS_PORT
security = "tls"
ca_file = "$MAILSTACK_CA"
username = "foi"
auth = "login"
password_file = "$DIR/imap-password"
mailbox = "INBOX"

[smtp]
host = "127.0.0.1"
port = $MAILSTACK_SMTP_PORT
security = "plain"

# Teams and staff from the repository's routing.toml: their example.org addresses are users on
# the demo stack, so assignment emails and chasers land in /var/tmp/foi-demo/mail/<name>/new/.
[workflow]
routing_file = "$repo/routing.toml"
reply_secret_file = "$DIR/reply-secret"
CONF
[ -s "$DIR/reply-secret" ] || { head -c 32 /dev/urandom | base64 > "$DIR/reply-secret"; chmod 600 "$DIR/reply-secret"; }

cargo build --locked -q --bin foi-triage
bin=$repo/target/debug/foi-triage
"$bin" config check --config "$DIR/foi-triage.toml"

if [ ! -e "$DIR/seeded" ]; then
  # New requests only (follow-ups in the sample set refer to cases this store does not have).
  # Every fifth sample: a mix of every kind, machine mail included (never answered).
  n=0; i=0
  for f in tests/data/samples/*.eml; do
    case "$(basename "$f")" in *followup*|*reply*) continue ;; esac
    i=$((i + 1)); [ $((i % 5)) -eq 1 ] || continue
    curl -s --ssl-reqd --cacert "$MAILSTACK_CA" -T "$f" \
      --url "imaps://localhost:$MAILSTACK_IMAPS_PORT/INBOX" --user "foi:$MAILSTACK_PASSWORD"
    n=$((n + 1)); [ $n -ge 20 ] && break
  done
  touch "$DIR/seeded"
  echo "demo: put $n sample requests in the shared mailbox (foi)"
fi

cat <<BANNER
demo: shared mailbox foi@council.example — IMAPS localhost:$MAILSTACK_IMAPS_PORT, SMTP 127.0.0.1:$MAILSTACK_SMTP_PORT
demo: acknowledgements land in $DIR/mail/<requester>/new/, assignment emails in $DIR/mail/<staff>/new/
demo: Ctrl-C stops the daemon
demo: then list cases with: $bin case list --config $DIR/foi-triage.toml
BANNER
exec "$bin" run --config "$DIR/foi-triage.toml"
