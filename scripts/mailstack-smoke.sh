#!/usr/bin/env bash
# mailstack-smoke.sh DIR — a quick end-to-end check of a stack started by scripts/mailstack.sh.
# Python 3 standard library only (smtplib, imaplib, ssl); TLS is verified against DIR's test CA.
#
#   1. SMTP (no AUTH) to requester@example.org; then IMAPS as requester finds it in INBOX
#   2. submission: MAIL without AUTH is refused; STARTTLS + AUTH as foi; the mail reaches requester
#   3. IMAP with STARTTLS as foi: APPEND to INBOX answers APPENDUID, and SEARCH finds the message
#   4. a user nobody made (smoke_<random>) logs in, IDLEs on INBOX, and gets "* n EXISTS" when mail
#      to Smoke_<random>+tag@example.net arrives; catchall gets its copy
#   5. a wrong password is refused, and at once
#
# Prints each step's time; exits 0 when all pass, 1 with a message on the first failure.
set -euo pipefail
D=${1:?usage: mailstack-smoke.sh DIR}
[ -f "$D/env" ] || { echo "mailstack-smoke: no $D/env: run scripts/mailstack.sh start $D first" >&2; exit 1; }
command -v python3 >/dev/null || { echo "mailstack-smoke: needs python3 (apt-get install python3)" >&2; exit 1; }
exec python3 - "$D/env" <<'PY'
import imaplib
import secrets
import smtplib
import socket
import ssl
import sys
import time
from email.message import EmailMessage

HOST = "127.0.0.1"          # the stack listens on IPv4 loopback only; the leaf cert has IP:127.0.0.1
PASSWORD = "secret"
TIMEOUT = 10.0              # seconds per network wait; a delivery normally takes 10-30 ms


class SmokeFailure(Exception):
    pass


def load_env(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, sep, value = line.rstrip("\n").partition("=")
            if sep:
                env[key] = value
    return env


env = load_env(sys.argv[1])
try:
    IMAP_PORT = int(env["MAILSTACK_IMAP_PORT"])
    IMAPS_PORT = int(env["MAILSTACK_IMAPS_PORT"])
    SMTP_PORT = int(env["MAILSTACK_SMTP_PORT"])
    SUBMISSION_PORT = int(env["MAILSTACK_SUBMISSION_PORT"])
    CA = env["MAILSTACK_CA"]
except (KeyError, ValueError) as e:
    sys.exit(f"mailstack-smoke: {sys.argv[1]} is incomplete: {e!r}")

socket.setdefaulttimeout(TIMEOUT)
TLS = ssl.create_default_context(cafile=CA)   # verifies the chain and the name (127.0.0.1)
RUN = secrets.token_hex(4)                     # makes this run's subjects and user unique
timings = []


def timed(name, fn):
    start = time.monotonic()
    result = fn()
    ms = (time.monotonic() - start) * 1000
    timings.append((name, ms))
    print(f"  {ms:8.1f} ms  {name}", flush=True)
    return result


def message(to, subject, sender="smoke@example.net"):
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = f"<{subject}@mailstack-smoke.invalid>"
    m.set_content(f"mailstack smoke test {subject}\n")
    return m


def imap_login(user, starttls=False):
    if starttls:
        c = imaplib.IMAP4(HOST, IMAP_PORT)
        c.starttls(ssl_context=TLS)
    else:
        c = imaplib.IMAP4_SSL(HOST, IMAPS_PORT, ssl_context=TLS)
    c.login(user, PASSWORD)
    return c


def find(c, subject, mailbox="INBOX"):
    """Polls (NOOP + UID SEARCH) until a message with this subject is in the mailbox."""
    typ, _ = c.select(mailbox)
    if typ != "OK":
        raise SmokeFailure(f"SELECT {mailbox} failed")
    deadline = time.monotonic() + TIMEOUT
    while True:
        typ, data = c.uid("SEARCH", "HEADER", "Subject", subject)
        if typ == "OK" and data and data[0].split():
            return data[0].split()
        if time.monotonic() > deadline:
            raise SmokeFailure(f"{subject!r} not in {mailbox} after {TIMEOUT} s")
        time.sleep(0.005)
        c.noop()


def smtp_send(m, to):
    with smtplib.SMTP(HOST, SMTP_PORT) as s:
        refused = s.send_message(m, to_addrs=[to])
    if refused:
        raise SmokeFailure(f"SMTP refused {refused}")


def step_smtp_to_imaps():
    subject = f"smoke-smtp-{RUN}"
    timed("SMTP send to requester@example.org", lambda: smtp_send(message("requester@example.org", subject), "requester@example.org"))
    c = timed("IMAPS connect + LOGIN requester", lambda: imap_login("requester"))
    timed("  ... found in requester's INBOX", lambda: find(c, subject))
    c.logout()


def step_submission():
    subject = f"smoke-submission-{RUN}"

    def send():
        with smtplib.SMTP(HOST, SUBMISSION_PORT) as s:
            s.ehlo()
            if not s.has_extn("starttls"):
                raise SmokeFailure("submission does not offer STARTTLS")
            s.starttls(context=TLS)
            s.ehlo()
            code, text = s.mail("foi@example.org")
            if code != 530:
                raise SmokeFailure(f"submission accepted MAIL without AUTH: {code} {text!r}")
            s.rset()
            s.login("foi", PASSWORD)
            refused = s.send_message(message("requester@example.org", subject, sender="foi@example.org"))
            if refused:
                raise SmokeFailure(f"submission refused {refused}")

    timed("submission STARTTLS + AUTH + send", send)
    c = imap_login("requester")
    timed("  ... found in requester's INBOX", lambda: find(c, subject))
    c.logout()


def step_append():
    subject = f"smoke-append-{RUN}"
    c = timed("IMAP STARTTLS + LOGIN foi", lambda: imap_login("foi", starttls=True))
    raw = message("foi@example.org", subject).as_bytes()
    typ, data = timed("APPEND to foi's INBOX", lambda: c.append("INBOX", None, None, raw))
    if typ != "OK" or b"APPENDUID" not in data[0]:
        raise SmokeFailure(f"APPEND: {typ} {data!r}")
    timed("  ... found by SEARCH", lambda: find(c, subject))
    c.logout()


def idle_until_exists(c, trigger):
    """IDLE (RFC 2177) by hand (imaplib has no idle() before 3.14); returns ms from trigger to EXISTS."""
    tag = c._new_tag()
    c.send(tag + b" IDLE\r\n")
    line = c.readline()
    if not line.startswith(b"+"):
        raise SmokeFailure(f"IDLE refused: {line!r}")
    trigger()
    start = time.monotonic()
    while True:
        line = c.readline()
        if not line:
            raise SmokeFailure("connection closed during IDLE")
        if line.rstrip().endswith(b"EXISTS"):
            break
        if time.monotonic() - start > TIMEOUT:
            raise SmokeFailure(f"no EXISTS within {TIMEOUT} s of IDLE")
    waited = (time.monotonic() - start) * 1000
    c.send(b"DONE\r\n")
    while True:
        line = c.readline()
        if not line:
            raise SmokeFailure("connection closed after DONE")
        if line.startswith(tag + b" "):
            if not line.startswith(tag + b" OK"):
                raise SmokeFailure(f"IDLE ended badly: {line!r}")
            break
    c.tagged_commands.pop(tag, None)
    return waited


def step_any_user_idle_catchall():
    user = f"smoke_{RUN}"
    rcpt = f"Smoke_{RUN}+tag@example.net"    # case and +detail must not matter
    subject = f"smoke-idle-{RUN}"
    c = timed(f"IMAPS LOGIN as a new user {user}", lambda: imap_login(user))
    typ, data = c.select("INBOX")
    if typ != "OK" or data[0] != b"0":
        raise SmokeFailure(f"new user's INBOX is not empty: {typ} {data!r}")
    waited = idle_until_exists(c, lambda: smtp_send(message(rcpt, subject), rcpt))
    timings.append(("IDLE: SMTP send -> * EXISTS", waited))
    print(f"  {waited:8.1f} ms  IDLE: SMTP send to {rcpt} -> * EXISTS", flush=True)
    timed(f"  ... found in {user}'s INBOX", lambda: find(c, subject))
    c.logout()
    c = imap_login("catchall")
    timed("  ... and its copy in catchall's INBOX", lambda: find(c, subject))
    c.logout()


def step_bad_password():
    def attempt():
        c = imaplib.IMAP4_SSL(HOST, IMAPS_PORT, ssl_context=TLS)
        try:
            c.login("foi", "wrong")
        except imaplib.IMAP4.error:
            return
        finally:
            c.shutdown()
        raise SmokeFailure("a wrong password was accepted")

    timed("wrong password refused", attempt)


def main():
    total = time.monotonic()
    print(f"mailstack-smoke: IMAP {IMAP_PORT}, IMAPS {IMAPS_PORT}, SMTP {SMTP_PORT}, submission {SUBMISSION_PORT}")
    try:
        for step in (step_smtp_to_imaps, step_submission, step_append, step_any_user_idle_catchall, step_bad_password):
            step()
    except (SmokeFailure, OSError, imaplib.IMAP4.error, smtplib.SMTPException) as e:
        print(f"mailstack-smoke: FAILED in {step.__name__}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(f"mailstack-smoke: OK in {(time.monotonic() - total) * 1000:.0f} ms")
    return 0


sys.exit(main())
PY
