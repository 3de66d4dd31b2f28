#!/usr/bin/env bash
# mailstack.sh — foi-triage's own real mail stack for development and tests (no Docker needed):
# Dovecot 2.3 (IMAP, LMTP, submission) and Postfix 3.7 on 127.0.0.1, with everything they own
# (config, queue, sockets, Maildirs, logs, TLS) under one directory DIR. Several stacks can run side
# by side on different port bases. Debian 12, as root (Postfix's master must start as root).
#
#   mailstack.sh install          apt-get install the packages (no-op, ~0.01 s, when present)
#   mailstack.sh start DIR        configure and start whatever is not running (installs if needed);
#                                 prints DIR/env. Exit 0 also when it was already running.
#   mailstack.sh stop DIR         graceful (clients get "* BYE"), ~1.3 s, bounded: SIGKILL after
#                                 2 s; no process is left. Stop before you delete DIR.
#   mailstack.sh status DIR       print the state; exit 0 only when IMAP and SMTP are both up
#   mailstack.sh env DIR          print DIR/env
#   mailstack.sh stop-imap DIR | start-imap DIR     only the IMAP server (tests of reconnection:
#                                 clients get "* BYE", then connection refused); SMTP, submission
#                                 and delivery into the Maildirs go on meanwhile
#   mailstack.sh stop-smtp DIR | start-smtp DIR     SMTP + submission + LMTP (tests of an outbox that
#                                 must wait: connection refused on both ports); IMAP stays up
#   mailstack.sh pause-imap DIR | resume-imap DIR   SIGSTOP / SIGCONT the IMAP server: connects still
#                                 succeed but nothing answers (tests of timeouts and keepalives)
#
# Ports: MAILSTACK_PORT_BASE + 143 IMAP (plain and STARTTLS), + 993 IMAPS, + 25 SMTP (no AUTH; any
# client on 127.0.0.0/8 may send to any address), + 587 submission (STARTTLS + AUTH PLAIN/LOGIN),
# + 24 LMTP (Postfix's path into Dovecot). The base defaults to the one DIR last ran with, else
# 10000. start fails, naming the program if it can, when a port is taken by something else.
# DIR/env holds KEY=VALUE lines for tests (no quoting needed: set -a; . DIR/env): MAILSTACK_DIR,
# MAILSTACK_NS_PREFIX (empty, or e.g. INBOX.),
# MAILSTACK_PORT_BASE, MAILSTACK_IMAP_PORT, MAILSTACK_IMAPS_PORT, MAILSTACK_SMTP_PORT,
# MAILSTACK_SUBMISSION_PORT, MAILSTACK_LMTP_PORT, MAILSTACK_CA (the test CA, PEM: trust only it; the
# server name is "localhost" or 127.0.0.1; the leaf is CA:FALSE, which rustls requires),
# MAILSTACK_MAILDIR (DIR/mail, one Maildir++ per user: DIR/mail/<user>/{cur,new,tmp}, folders as
# DIR/mail/<user>/.<Folder>/), MAILSTACK_HOST (127.0.0.1), MAILSTACK_PASSWORD (secret).
# Commands on one DIR take turns (flock on DIR), so parallel test threads cannot interleave them.
#
# Users: ANY name logs in with password "secret" (static passdb and userdb), its Maildir is made on
# first use, so each test can take its own user, named after the test. foi, alice, bob, staff,
# requester and catchall are made at start. Names are lower-cased and a domain is dropped
# (auth_username_format = %Ln): "Test_Foo@example.org" logs in as test_foo. Names starting with "."
# are refused ("..": DIR/mail/.. is DIR itself). A wrong password is refused after
# ~0.5 s (Dovecot's failure timer), with no growing per-IP penalty (anvil-auth-penalty is off).
#
# Delivery: mail to local-part@ANY-domain goes to the user named by its local part, lower-cased,
# without "+detail" (Dovecot's recipient_delimiter): Test_Foo+x@example.org -> user test_foo.
# A COPY of mail for any local part other than the six users above also goes to catchall (Postfix
# recipient_bcc_maps), so "everything else lands in catchall" holds too. A local part that is not a
# plain name ([a-z0-9_-][a-z0-9._-]{0,63}, e.g. "../x", "a/b", ".hidden") goes to catchall only.
# Each recipient is its own LMTP transaction, so every delivered message has Delivered-To: <rcpt>
# (the copy in catchall says catchall@mailstack.invalid; read To: there). Delivery is asynchronous
# after SMTP's 250 (a few ms): tests must poll or IDLE; an IDLE push comes ~0.5 s after delivery
# (Dovecot's fixed notify delay). Postfix adds Received:, and Message-ID:/Date: when missing.
# Postfix's own reports (bounces, -bv) go to the sender's user, without a catchall copy.
#
# Processes: two rootless Dovecot masters running as user dovecot, "imap" (IMAP) and "smtp" (LMTP +
# submission), so IMAP can go down alone, and one Postfix master (root; its daemons run as postfix)
# with a private config dir (postfix -c DIR/postfix/conf) delivering everything by LMTP into
# Dovecot "smtp"; submission relays to Postfix. Logs: DIR/log/{dovecot-imap,dovecot-smtp,postfix}.log.
# IDLE is on; during IDLE Dovecot sends "* OK Still here" every MAILSTACK_IDLE_NOTIFY_SECS seconds
# (read at start; default 120, Dovecot's own). mail_max_userip_connections = 1000 (default 10);
# up to 1000 IMAP login/TLS processes. Plaintext LOGIN/AUTH is allowed on the plain ports too.
# Messages up to 100 MB (tests send a 70 MB one). Deferred mail is retried every 1-10 s (Postfix's
# default: minutes), and start/start-smtp flush the queue at once.
#
# Namespace: by default Dovecot's own (personal folders at the top, "." between levels: NAMESPACE
# (("" "."))). MAILSTACK_NS_PREFIX=INBOX. at start gives the layout of Cyrus, Courier and many
# hosted servers instead: personal folders under INBOX. (NAMESPACE (("INBOX." "."))), and a CREATE
# outside it ("Triage.FOI") is refused. Like the port base, the prefix stays with DIR (DIR/env
# MAILSTACK_NS_PREFIX) until the stack is stopped and started with another; the Maildirs are the
# same either way (INBOX.Triage.FOI is DIR/mail/<user>/.Triage.FOI/).
#
# Seeding many messages: APPEND slows down as a folder grows (Dovecot syncs its index per save); for
# thousands, write files into DIR/mail/<user>/.<Folder>/new/ and SELECT once. What you make there
# must belong to user dovecot (chown -R dovecot:dovecot), or Dovecot cannot move or index it.
#
# Limits: DIR and all its parents must be traversable by users dovecot and postfix (so not under
# /root or another 0700 directory; start checks and names the culprit); DIR may hold only
# [A-Za-z0-9._/-] and at most 64 bytes (Dovecot's unix sockets live under it: 108-byte limit).
# install preseeds Postfix's "No configuration" (no system-wide /etc/postfix/main.cf) and, on a
# systemd host, stops and disables the system Dovecot its package would start. Never purge postfix
# on a shared machine: that removes every package that needs an MTA.
# CI: bash scripts/mailstack.sh start "$DIR"; trap 'bash scripts/mailstack.sh stop "$DIR"' EXIT;
# the tests read "$DIR/env". scripts/mailstack-smoke.sh DIR checks a running stack end to end.
# Measured (2 cores): install 34 s on a machine without the packages, 0.01 s with them; start
# 0.7-1.2 s on a new DIR (CA + cert), 0.3-0.7 s on an existing one, 0.07 s when already running;
# stop 1.2-1.4 s (Dovecot's master takes ~1.1 s to exit); stop-imap/-smtp ~1.25 s; start-imap
# 0.09 s; start-smtp 0.17 s; mailstack-smoke.sh 1.2-1.7 s.
set -euo pipefail
umask 022

readonly DUSER=dovecot                    # Dovecot runs rootless as this user (it refuses root for mail)
readonly USERS="foi alice bob staff requester catchall"
readonly PASSWORD=secret
readonly MAX_DIR_LEN=64                   # bytes: 107 (sun_path less its NUL) - 18 ("/dovecot-imap/run/")
                                          # - 24 (token-login/imap-urlauth, Dovecot's longest socket name) - 1 spare
readonly STOP_WAIT_TICKS=40               # x 0.05 s = 2 s for each stage of stop (see stop_masters)
readonly START_WAIT_TICKS=300             # x 0.05 s = 15 s for the ports to open
readonly PKGS="dovecot-imapd dovecot-lmtpd dovecot-submissiond postfix openssl"

die() { echo "mailstack: $*" >&2; exit 1; }
say() { echo "mailstack: $*"; }
usage() {
  echo "usage: mailstack.sh install | {start|stop|status|env|start-imap|stop-imap|start-smtp|stop-smtp|pause-imap|resume-imap} DIR" >&2
  exit 2
}
lock_dir() {   # one mailstack.sh command at a time per DIR (fd 9 is closed for the daemons we start)
  exec 9<"$D"
  flock -w 120 9 || die "another mailstack.sh command has held $D for 2 minutes"
}
# In a subshell about to exec a server: close every descriptor but 0, 1 and 2. Dovecot keeps
# what it inherits for as long as it runs, so a caller's lock (fd 9 of lock_dir, or the one of
# `flock /tmp/foi-mailstack.lock cargo test`) would stay held by the server, and everyone waiting
# for that lock would wait for ever.
close_inherited_fds() {
  local fd
  for fd in $(ls "/proc/$BASHPID/fd"); do
    if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}
need_root() { [ "$(id -u)" = 0 ] || die "$cmd needs root (Postfix's master starts as root; Dovecot is run as $DUSER)"; }

# ---------------------------------------------------------------------------------------- install
have_pkgs() {
  [ -x /usr/sbin/postfix ] && [ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/imap ] &&
    [ -x /usr/lib/dovecot/lmtp ] && [ -x /usr/lib/dovecot/submission ] && command -v openssl >/dev/null
}
install() {
  have_pkgs && return 0
  need_root
  local log had_dovecot=no
  log=$(mktemp)
  dpkg-query -W -f='${Status}' dovecot-core 2>/dev/null | grep -q 'install ok installed' && had_dovecot=yes
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  say "installing $PKGS"
  # shellcheck disable=SC2086 # PKGS is a word list
  if ! { apt-get -q -o DPkg::Lock::Timeout=600 update && apt-get -q -y -o DPkg::Lock::Timeout=600 \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
      install --no-install-recommends $PKGS; } </dev/null >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"; die "apt-get failed (output above)"
  fi
  rm -f "$log"
  have_pkgs || die "packages installed but a binary is missing"
  if [ $had_dovecot = no ] && [ -d /run/systemd/system ] && systemctl -q is-active dovecot 2>/dev/null; then
    systemctl -q disable --now dovecot || true   # we only want our own, rootless instances
  fi
}

# ------------------------------------------------------------------------------------ DIR, ports
set_dir() {
  [ -n "${D:-}" ] || usage
  D=$(realpath -m -- "$D")
  [[ $D =~ ^[A-Za-z0-9._/-]+$ ]] ||
    die "DIR '$D' may hold only letters, digits and . _ - / (it is written into Postfix's and Dovecot's configs)"
  [ ${#D} -le $MAX_DIR_LEN ] ||
    die "DIR '$D' is ${#D} bytes, at most $MAX_DIR_LEN: Dovecot's unix sockets under it must fit in 108 bytes; use e.g. /var/tmp/ms"
}
env_value() { [ -f "$D/env" ] && sed -n "s/^MAILSTACK_$1=//p" "$D/env" | head -n 1; true; }
set_ports() {   # $1 = base
  B=$1
  if ! [[ $B =~ ^[0-9]+$ ]] || [ "$B" -lt 1000 ] || [ "$B" -gt 64542 ]; then
    die "port base '$B' must be a number from 1000 to 64542 (Dovecot runs rootless: no port below 1024)"
  fi
  IMAP=$((B + 143)) IMAPS=$((B + 993)) SMTP=$((B + 25)) SUBM=$((B + 587)) LMTP=$((B + 24))
}
set_ns() {   # $1 = personal namespace prefix: empty (Dovecot's default) or NAME. (e.g. INBOX.)
  NS=$1
  [[ $NS =~ ^([A-Za-z0-9_-]+\.)?$ ]] ||
    die "MAILSTACK_NS_PREFIX '$NS' must be empty or a name ending in '.' (e.g. INBOX.)"
}
ports_from_env() {
  local b
  b=$(env_value PORT_BASE)
  [ -n "$b" ] || die "$D/env not found or incomplete: run 'mailstack.sh start $D' first"
  set_ports "$b"
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
who_has() {   # " (by NAME pid N, ...)" when ss can tell
  local users
  command -v ss >/dev/null || return 0
  users=$(ss -ltnpH "sport = :$1" 2>/dev/null | grep -o '("[^"]*",pid=[0-9]*' | sed 's/("\([^"]*\)",pid=/\1 pid /' | paste -sd, -)
  [ -z "$users" ] || echo " (by ${users//,/, })"
}
check_free() {
  local p
  for p; do
    port_open "$p" && die "port $p on 127.0.0.1 is already in use by another program$(who_has "$p"); set MAILSTACK_PORT_BASE to another base"
  done
  true
}
check_reachable() {   # DIR and every existing parent must be traversable by the users our daemons run as
  local u p="" part
  for u in $DUSER postfix; do
    while IFS= read -r -d / part || [ -n "$part" ]; do
      p="${p%/}/$part"
      [ -e "$p" ] || break
      setpriv --reuid="$u" --regid="$u" --init-groups test -x "$p" ||
        die "user $u cannot enter $p ($(stat -c '%A %U' "$p")), so it cannot use $D: pick a DIR outside it (e.g. /var/tmp/ms)"
    done <<<"${D#/}"
    p=""
  done
}

# ------------------------------------------------------------------------------------- processes
# A daemon is "ours" only if its pid file names a live process that belongs to this DIR.
exe_of() { local e; e=$(readlink "/proc/$1/exe" 2>/dev/null) || return 0; echo "${e% (deleted)}"; }   # survives an upgrade
dovecot_pid() {   # $1 = imap|smtp; prints the master's pid when that instance runs
  local f="$D/dovecot-$1/run/master.pid" p
  [ -f "$f" ] || return 1
  p=$(tr -dc 0-9 <"$f")
  [ -n "$p" ] && [ "$(exe_of "$p")" = /usr/sbin/dovecot ] &&
    [ "$(readlink "/proc/$p/cwd" 2>/dev/null)" = "$D/dovecot-$1/run" ] || return 1
  echo "$p"
}
postfix_pid() {
  local f="$D/postfix/queue/pid/master.pid" p
  [ -f "$f" ] || return 1
  p=$(tr -dc 0-9 <"$f")
  [ -n "$p" ] && [ "$(exe_of "$p")" = /usr/lib/postfix/sbin/master ] &&
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "MAIL_CONFIG=$D/postfix/conf" || return 1
  echo "$p"
}
is_paused() { grep -q '^State:[[:space:]]*T' "/proc/$1/status" 2>/dev/null; }
group_pids() {   # $1 = process group id; prints the pids of its live (not zombie) processes
  local f line rest state pgrp
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    rest=${line##*) }
    read -r state _ pgrp _ <<<"$rest"
    [ "$pgrp" = "$1" ] && [ "$state" != Z ] && { f=${f#/proc/}; echo "${f%/stat}"; }
  done
  true
}
group_alive() { [ -n "$(group_pids "$1")" ]; }
wait_groups_gone() {   # $1 = ticks of 0.05 s, $2... = process group ids; true once all are gone
  local ticks=$1 t p left
  shift
  for ((t = 0; t < ticks; t++)); do
    left=0
    for p; do group_alive "$p" && left=1; done
    [ $left = 0 ] && return 0
    sleep 0.05
  done
  return 1
}
pid_alive() { [ -d "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
stop_masters() {   # $@ = "label:pid"...; each master leads its own process group
  local item p t left pids=()
  for item; do
    p=${item#*:}
    pids+=("$p")
    say "stopping ${item%%:*} (pid $p)"
    kill -CONT -- "-$p" 2>/dev/null || true   # a paused IMAP server must be able to hear TERM
    kill -TERM "$p" 2>/dev/null || true        # Postfix's master then ends its whole group
  done
  for ((t = 0; t < STOP_WAIT_TICKS; t++)); do  # Dovecot's master needs ~1.1 s to exit
    left=0
    for p in "${pids[@]}"; do pid_alive "$p" && left=1; done
    [ $left = 0 ] && break
    sleep 0.05
  done
  # Dovecot's master leaves logged-in IMAP sessions (and their TLS proxies, imap-login) running until
  # the client leaves. TERM the sessions first, so that "* BYE Server shutting down." still gets
  # through the TLS proxy, then the rest. Now and then a helper that was starting up (anvil, auth)
  # sits ~5 s in a blocking read that TERM does not end: KILL it.
  local q sessions=()
  for p in "${pids[@]}"; do
    for q in $(group_pids "$p"); do
      [ "$(exe_of "$q")" = /usr/lib/dovecot/imap ] && sessions+=("$q")
    done
  done
  if [ ${#sessions[@]} -gt 0 ]; then
    kill -TERM "${sessions[@]}" 2>/dev/null || true
    for ((t = 0; t < 10; t++)); do   # up to 0.5 s
      left=0
      for q in "${sessions[@]}"; do pid_alive "$q" && left=1; done
      [ $left = 0 ] && break
      sleep 0.05
    done
    sleep 0.05                      # let the proxies forward the BYE
  fi
  for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
  wait_groups_gone "$STOP_WAIT_TICKS" "${pids[@]}" && return 0
  for p in "${pids[@]}"; do
    group_alive "$p" && say "process group $p still there 2 s after TERM: SIGKILL" && kill -KILL -- "-$p" 2>/dev/null
  done
  wait_groups_gone "$STOP_WAIT_TICKS" "${pids[@]}" || die "process group(s) ${pids[*]} survived SIGKILL"
}
wait_ports() {   # $1 = what, $2 = pid of the starter to watch (or ""), $3... = ports
  local what=$1 watch=$2 t p ok
  shift 2
  for ((t = 0; t < START_WAIT_TICKS; t++)); do
    ok=1
    for p; do port_open "$p" || { ok=0; break; }; done
    [ $ok = 1 ] && return 0
    if [ -n "$watch" ] && ! kill -0 "$watch" 2>/dev/null; then
      tail -n 20 "$D/log/$what.stderr" "$D/log/$what.log" 2>/dev/null >&2 || true
      die "$what exited at start (logs above; more in $D/log)"
    fi
    sleep 0.05
  done
  tail -n 20 "$D/log/$what.stderr" "$D/log/$what.log" 2>/dev/null >&2 || true
  die "$what: port $p did not open within 15 s (logs above; more in $D/log)"
}

start_dovecot() {   # $1 = imap|smtp, $2... = its ports
  local n=$1 p
  shift
  if p=$(dovecot_pid "$n"); then
    if is_paused "$p"; then kill -CONT -- "-$p"; say "dovecot-$n was paused: resumed (pid $p)"; return 0; fi
    say "dovecot-$n already running (pid $p)"
    return 0
  fi
  [ -f "$D/dovecot-$n/dovecot.conf" ] || die "$D is not configured: run 'mailstack.sh start $D' first"
  check_free "$@"
  # Clear what a previous run left: a stale socket (e.g. the disabled anvil-auth-penalty) would
  # make the auth process log errors and stall instead of quietly skipping it.
  find "$D/dovecot-$n/run" -mindepth 1 -delete
  # setsid: the master leads its own process group, so stop can reach every process it forked.
  # setsid -w keeps $! alive exactly as long as Dovecot, whether or not setsid had to fork.
  (
    close_inherited_fds
    exec setsid -w setpriv --reuid=$DUSER --regid=$DUSER --init-groups \
      dovecot -F -c "$D/dovecot-$n/dovecot.conf" >>"$D/log/dovecot-$n.stderr" 2>&1 </dev/null
  ) &
  wait_ports "dovecot-$n" $! "$@"
  say "dovecot-$n started (pid $(dovecot_pid "$n" || echo '?'))"
}
start_postfix() {
  local p
  if p=$(postfix_pid); then say "postfix already running (pid $p)"; return 0; fi
  [ -f "$D/postfix/conf/main.cf" ] || die "$D is not configured: run 'mailstack.sh start $D' first"
  check_free "$SMTP"
  # postfix waits until its config files are at least 1 s old ("cool down"): age them instead.
  touch -d '-1 min' "$D"/postfix/conf/*
  # Once the queue has been set up, skip postfix-script's integrity checks (0.6 s of postconf calls).
  [ -d "$D/postfix/queue/maildrop" ] && touch "$D/postfix/queue/quick-start"
  postfix -c "$D/postfix/conf" start >>"$D/log/postfix.stderr" 2>&1 </dev/null 9<&- || {
    tail -n 20 "$D/log/postfix.stderr" "$D/log/postfix.log" >&2 2>/dev/null || true
    die "postfix did not start (logs above)"
  }
  wait_ports postfix "" "$SMTP"
  say "postfix started (pid $(postfix_pid || echo '?'))"
}
flush_queue() {   # deliver at once whatever Postfix deferred while the LMTP side was down
  postqueue -c "$D/postfix/conf" -f >>"$D/log/postfix.stderr" 2>&1 </dev/null ||
    say "warning: postqueue -f failed (see $D/log/postfix.stderr)"
}
stop_imap() {
  local p
  if p=$(dovecot_pid imap); then stop_masters "dovecot-imap:$p"; else say "dovecot-imap not running"; fi
}
stop_smtp() {
  local p items=()
  p=$(postfix_pid) && items+=("postfix:$p")
  p=$(dovecot_pid smtp) && items+=("dovecot-smtp:$p")
  if [ ${#items[@]} -gt 0 ]; then stop_masters "${items[@]}"; else say "smtp side not running"; fi
}
signal_imap() {   # $1 = STOP|CONT
  local p
  p=$(dovecot_pid imap) || die "dovecot-imap is not running"
  kill "-$1" -- "-$p"
  say "dovecot-imap (process group $p) sent SIG$1"
}

# ---------------------------------------------------------------------------------------- config
write_tls() {   # a test CA and a leaf it signs: rustls rejects a self-signed CA:TRUE cert as a server leaf
  [ -s "$D/tls/cert.pem" ] && [ -s "$D/tls/key.pem" ] && [ -s "$D/tls/ca.pem" ] && return 0
  local t="$D/tls" ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  {
    openssl req -x509 "${ec[@]}" -days 3650 -subj /CN=foi-triage-mailstack-test-ca -keyout "$t/ca.key" -out "$t/ca.pem"
    openssl req "${ec[@]}" -subj /CN=localhost -keyout "$t/key.pem" -out "$t/leaf.csr"
    printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' 'basicConstraints=critical,CA:FALSE' \
      'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' >"$t/leaf.ext"
    openssl x509 -req -in "$t/leaf.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial -days 3650 \
      -extfile "$t/leaf.ext" -out "$t/cert.pem"
  } >"$t/openssl.log" 2>&1 || { cat "$t/openssl.log" >&2; die "openssl failed"; }
  chmod 600 "$t/ca.key" "$t/key.pem"
}
namespace_block() {   # the personal namespace when MAILSTACK_NS_PREFIX asked for one; else nothing
  [ -n "$NS" ] || return 0
  printf '%s\n' 'namespace inbox {' '  inbox = yes' "  prefix = $NS" '  separator = .' '}'
}
dovecot_common() {   # $1 = instance name
  cat <<EOF
# Written by scripts/mailstack.sh, anew by each 'start' that finds nothing running. Dovecot "$1", rootless.
instance_name = mailstack$B-$1
listen = 127.0.0.1
base_dir = $D/dovecot-$1/run
state_dir = $D/dovecot-$1/state
log_path = $D/log/dovecot-$1.log
default_login_user = $DUSER
default_internal_user = $DUSER
first_valid_uid = 1
ssl = yes
ssl_cert = <$D/tls/cert.pem
ssl_key = <$D/tls/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Ln
auth_failure_delay = 0
auth_verbose = yes
mail_location = maildir:$D/mail/%n
mail_home = $D/home/%n
mail_fsync = never
$(namespace_block)
passdb {
  driver = static
  args = nopassword=yes
  deny = yes
  username_filter = .*
}
passdb {
  driver = static
  args = password=$PASSWORD nodelay=yes
}
userdb {
  driver = static
  args = uid=$DUSER gid=$DUSER allow_all_users=yes
}
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth-worker {
  user = $DUSER
}
EOF
}
write_config() {
  local idle=${MAILSTACK_IDLE_NOTIFY_SECS:-120} u
  if ! [[ $idle =~ ^[0-9]+$ ]] || [ "$idle" -lt 1 ]; then die "MAILSTACK_IDLE_NOTIFY_SECS must be a number of seconds >= 1"; fi
  mkdir -p "$D"/{tls,log,mail,home} "$D"/dovecot-{imap,smtp}/{run,state} "$D"/postfix/{conf,queue,data}
  for u in $USERS; do mkdir -p "$D/mail/$u"/{cur,new,tmp} "$D/home/$u"; done
  write_tls
  { dovecot_common imap; cat <<EOF
protocols = imap
mail_max_userip_connections = 1000
imap_idle_notify_interval = $idle secs
service imap-login {
  chroot =
  process_limit = 1000
  inet_listener imap {
    port = $IMAP
  }
  inet_listener imaps {
    port = $IMAPS
    ssl = yes
  }
}
EOF
  } >"$D/dovecot-imap/dovecot.conf"
  { dovecot_common smtp; cat <<EOF
protocols = lmtp submission
submission_relay_host = 127.0.0.1
submission_relay_port = $SMTP
submission_max_mail_size = 100M
service submission-login {
  chroot =
  inet_listener submission {
    port = $SUBM
  }
}
service lmtp {
  user = $DUSER
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP
  }
}
EOF
  } >"$D/dovecot-smtp/dovecot.conf"

  cat >"$D/postfix/conf/main.cf" <<EOF
# Written by scripts/mailstack.sh, anew by each 'start' that finds nothing running. postfix -c $D/postfix/conf
compatibility_level = 3.6
queue_directory = $D/postfix/queue
data_directory = $D/postfix/data
meta_directory = /etc/postfix
maillog_file_prefixes = $D/log
maillog_file = $D/log/postfix.log
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mailstack.localdomain
mydestination =
local_recipient_maps =
alias_maps =
biff = no
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
message_size_limit = 104857600
default_transport = lmtp:inet:127.0.0.1:$LMTP
relay_transport = lmtp:inet:127.0.0.1:$LMTP
lmtp_destination_recipient_limit = 1
recipient_canonical_maps = regexp:$D/postfix/conf/unsafe.regexp
recipient_canonical_classes = envelope_recipient
recipient_bcc_maps = regexp:$D/postfix/conf/catchall.regexp
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 10s
EOF
  # A local part names a Maildir (DIR/mail/<local part>): deliver any that is not a plain name
  # ("../x", "a/b", ".hidden", quoted or over 64 bytes) to catchall instead. Case-insensitive.
  printf '%s\n' '!/^[a-z0-9_-][a-z0-9._-]{0,63}(\+[^@]*)?@[^@]*$/ catchall@mailstack.invalid' \
    >"$D/postfix/conf/unsafe.regexp"
  printf '%s\n' "# Copy to catchall whatever is not for one of the fixed users (case-insensitive)." \
    "!/^($(tr ' ' '|' <<<"$USERS"))(\\+[^@]*)?@/ catchall@mailstack.invalid" >"$D/postfix/conf/catchall.regexp"
  { echo "127.0.0.1:$SMTP inet n - n - - smtpd"
    printf '%s unix - - n - - %s\n' rewrite trivial-rewrite proxymap proxymap smtp smtp relay smtp \
      error error retry error discard discard lmtp lmtp
    printf '%s unix - - n - 0 bounce\n' bounce defer trace   # Postfix requires a process limit of 0 here
    printf '%s unix - - n - 1 %s\n' verify verify anvil anvil scache scache
    printf '%s\n' "cleanup unix n - n - 0 cleanup" "qmgr unix n - n 300 1 qmgr" "flush unix n - n 1000 0 flush" \
      "pickup unix n - n 60 1 pickup" "showq unix n - n - - showq" "postlog unix-dgram n - n - 1 postlogd"
  } >"$D/postfix/conf/master.cf"

  chown -R $DUSER:$DUSER "$D/mail" "$D/home" "$D"/dovecot-{imap,smtp} "$D/tls" "$D/log"
  chown postfix "$D/postfix/data"
}
write_env() {
  printf 'MAILSTACK_%s\n' "DIR=$D" "PORT_BASE=$B" "NS_PREFIX=$NS" "IMAP_PORT=$IMAP" "IMAPS_PORT=$IMAPS" "SMTP_PORT=$SMTP" \
    "SUBMISSION_PORT=$SUBM" "LMTP_PORT=$LMTP" "CA=$D/tls/ca.pem" "MAILDIR=$D/mail" "HOST=127.0.0.1" \
    "PASSWORD=$PASSWORD" >"$D/env.tmp"
  mv "$D/env.tmp" "$D/env"
}

# -------------------------------------------------------------------------------------- commands
start_all() {
  need_root
  [ -z "${MAILSTACK_PORT_BASE:-}" ] || set_ports "$MAILSTACK_PORT_BASE"   # refuse a bad base early
  check_reachable
  mkdir -p "$D"
  chmod 755 "$D"
  lock_dir
  local prev prev_ns p running=no
  prev=$(env_value PORT_BASE)
  prev_ns=$(env_value NS_PREFIX)
  set_ns "${MAILSTACK_NS_PREFIX-$prev_ns}"
  { dovecot_pid imap || dovecot_pid smtp || postfix_pid; } >/dev/null && running=yes
  if [ $running = yes ]; then
    set_ports "${prev:?}"
    [ -z "${MAILSTACK_PORT_BASE:-}" ] || [ "$MAILSTACK_PORT_BASE" = "$prev" ] ||
      die "$D is running on port base $prev, not $MAILSTACK_PORT_BASE: stop it first"
    [ "$NS" = "$prev_ns" ] ||
      die "$D is running with namespace prefix '$prev_ns', not '$NS': stop it first"
    if p=$(dovecot_pid imap) && ! is_paused "$p" && dovecot_pid smtp >/dev/null && postfix_pid >/dev/null; then
      say "already running on $D"
      cat "$D/env"
      return 0
    fi
  else
    set_ports "${MAILSTACK_PORT_BASE:-${prev:-10000}}"
  fi
  # Check every port before starting anything, so a refusal leaves nothing half started.
  dovecot_pid smtp >/dev/null || check_free "$LMTP" "$SUBM"
  postfix_pid >/dev/null || check_free "$SMTP"
  dovecot_pid imap >/dev/null || check_free "$IMAP" "$IMAPS"
  install
  [ $running = yes ] || write_config
  start_dovecot smtp "$LMTP" "$SUBM"
  start_postfix
  flush_queue
  start_dovecot imap "$IMAP" "$IMAPS"
  write_env
  cat "$D/env"
}
status() {
  local p rc=0
  [ -f "$D/env" ] || { echo "not started: no $D/env"; return 1; }
  ports_from_env
  if p=$(dovecot_pid imap); then
    if is_paused "$p"; then
      echo "imap  PAUSED pid $p  ports $IMAP (IMAP), $IMAPS (IMAPS): connections hang (resume-imap)"; rc=1
    else
      echo "imap  up    pid $p  ports $IMAP (IMAP), $IMAPS (IMAPS)"
    fi
  else echo "imap  down"; rc=1; fi
  local pf ds
  pf=$(postfix_pid) || pf=""
  ds=$(dovecot_pid smtp) || ds=""
  if [ -n "$pf" ] && [ -n "$ds" ]; then
    echo "smtp  up    postfix pid $pf, dovecot pid $ds  ports $SMTP (SMTP), $SUBM (submission), $LMTP (LMTP)"
  else
    echo "smtp  down  (postfix: ${pf:-down}, dovecot lmtp+submission: ${ds:-down})"; rc=1
  fi
  return $rc
}

cmd=${1:-}
D=${2:-}
mutating() {   # the common start of every command that changes DIR's processes
  set_dir
  need_root
  [ -d "$D" ] || die "$D does not exist: run 'mailstack.sh start $D' first"
  lock_dir
}
case $cmd in
  install) install; say "packages present: $PKGS" ;;
  start) set_dir; start_all ;;
  stop)
    set_dir
    [ -d "$D" ] || { say "$D does not exist: nothing to stop"; exit 0; }
    mutating
    items=()
    p=$(dovecot_pid imap) && items+=("dovecot-imap:$p")
    p=$(postfix_pid) && items+=("postfix:$p")
    p=$(dovecot_pid smtp) && items+=("dovecot-smtp:$p")
    if [ ${#items[@]} -gt 0 ]; then stop_masters "${items[@]}"; say "stopped"; else say "not running"; fi ;;
  status) set_dir; need_root; status ;;
  env) set_dir; [ -f "$D/env" ] || die "no $D/env: run 'mailstack.sh start $D' first"; cat "$D/env" ;;
  start-imap) mutating; ports_from_env; start_dovecot imap "$IMAP" "$IMAPS" ;;
  stop-imap) mutating; stop_imap ;;
  start-smtp) mutating; ports_from_env; start_dovecot smtp "$LMTP" "$SUBM"; start_postfix; flush_queue ;;
  stop-smtp) mutating; stop_smtp ;;
  pause-imap) mutating; signal_imap STOP ;;
  resume-imap) mutating; signal_imap CONT ;;
  *) usage ;;
esac
