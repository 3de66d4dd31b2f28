//! Nothing is silently dropped (issue 10 point 5), on the real stack: mail filed as machine mail
//! is kept, turned into a case from the shell while the daemon runs (through its control socket),
//! listed once for the team's manager the next working morning, and opened by the manager with
//! `#open` mailed to the address the list gives.

use super::*;
use chrono::Datelike;

/// An out-of-office reply that also carries a request: filed as machine mail by its headers.
fn out_of_office(from: &str, n: usize) -> Vec<u8> {
    format!(
        "From: Pat Requester <{from}>\r\nTo: foi@council.example\r\n\
         Subject: Automatic reply: Freedom of Information request {n}\r\n\
         Message-ID: <ooo-{n}-{from}>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\
         Auto-Submitted: auto-replied\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         I am out of the office until Monday.\r\n\r\nBefore I went: under the Freedom of \
         Information Act 2000 please provide the number of potholes repaired on Mill Lane in \
         each of the last three financial years (request {n}).\r\n\r\nYours faithfully,\r\n\
         Pat Requester\r\n12 High Street, Exampletown EX1 2AB\r\n"
    )
    .into_bytes()
}

/// The ids `case machine-mail` lists, in order.
fn kept_ids(world: &World) -> Vec<String> {
    let o = support::run(&[
        "case",
        "machine-mail",
        "--config",
        world.config().to_str().expect("utf-8"),
    ]);
    support::stdout(&o)
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next().map(str::to_string))
        .collect()
}

#[test]
fn machine_mail_is_opened_from_the_shell_while_the_daemon_runs_and_listed_next_morning() {
    let world = workflow_world("wfm", false);
    let (req, alice, manager) = (world.who("req"), world.who("alice"), world.who("manager"));
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[
            out_of_office(&world.addr("req"), 1),
            out_of_office(&world.addr("req"), 2),
        ],
    );
    // A Saturday: no list goes at the weekend, so none goes before the case is opened.
    let mut saturday = chrono::Utc::now().date_naive();
    while saturday.weekday() != chrono::Weekday::Sat {
        saturday = saturday.succ_opt().expect("date");
    }
    let daemon = world.start_at(&format!("{saturday}T12:00:00Z"));
    // The daemon holds the store once its control socket is up; a `case machine-mail` before
    // that would open the store itself and could keep the starting daemon out of it.
    let socket = world.dir.path().join("data/control/control.sock");
    wait_for(
        Duration::from_secs(30),
        "the daemon's control socket",
        || socket.exists(),
    );
    wait_for(
        Duration::from_secs(30),
        "both messages kept as machine mail",
        || kept_ids(&world).len() == 2,
    );
    let ids = kept_ids(&world);
    // Never answered as machine mail.
    assert!(
        world.delivered(&req).is_empty(),
        "machine mail was answered"
    );
    // Opened from the shell while the daemon holds the store.
    let cfg = world.config();
    let o = support::run(&[
        "case",
        "open-from",
        &ids[0],
        "--kind",
        "foi",
        "--by",
        &world.addr("alice"),
        "--config",
        cfg.to_str().expect("utf-8"),
    ]);
    assert!(
        o.status.success(),
        "{}\n{}",
        support::stderr(&o),
        world.log_text()
    );
    assert!(
        support::stdout(&o).contains("\tfoi\topen\t"),
        "{}",
        support::stdout(&o)
    );
    wait_for(
        Duration::from_secs(30),
        "the acknowledgement and the assignment",
        || world.delivered(&req).len() == 1 && world.delivered(&alice).len() == 1,
    );
    let result = daemon.stop();
    assert!(result.is_ok(), "{result:?}");
    let (_, cases) = world.cases();
    assert_eq!(cases.len(), 1);
    assert_eq!(
        cases[0].assignee.as_deref(),
        Some(world.addr("alice").as_str())
    );

    // The next working morning the manager gets the list: the one not opened, with its command
    // and the address that opens it by email.
    let morning = working_days_after(saturday, 1);
    let listed = |w: &World| find_mail(w, &manager, "filed as machine mail");
    let daemon = world.start_at(&format!("{morning}T09:30:00Z"));
    wait_for(Duration::from_secs(20), "the machine-mail list", || {
        !listed(&world).is_empty()
    });
    let (_, list) = listed(&world).remove(0);
    let command = format!(
        "foi-triage case open-from {} --kind foi --by {}",
        ids[1],
        world.addr("manager")
    );
    assert!(list.body_text.contains(&command), "{}", list.body_text);
    assert!(
        !list.body_text.contains(&ids[0]),
        "opened: {}",
        list.body_text
    );
    let open_to = list
        .body_text
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("To open it (Freedom of Information request): send \"#open foi\" to ")
        })
        .expect("the address that opens it by email")
        .trim()
        .to_string();
    assert!(open_to.contains(&format!("+{}.", ids[1])), "{open_to}");
    // The manager opens it by email: the case is made, the requester acknowledged, the manager
    // told. A forwarded copy used by a colleague opens nothing: it is kept as machine mail.
    let open_mail = |from: &str, n: usize| {
        let raw = format!(
            "From: <{from}>\r\nTo: <{open_to}>\r\nSubject: Open {}\r\n\
             Message-ID: <open-{n}-{}@example.org>\r\n\r\n#open foi\r\n",
            ids[1], world.user
        );
        stamped("example.org", raw.as_bytes())
    };
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[
            open_mail(&world.addr("alice"), 1),
            open_mail(&world.addr("manager"), 2),
        ],
    );
    wait_for(Duration::from_secs(30), "the answer to #open", || {
        !find_mail(&world, &manager, "opened from").is_empty()
    });
    wait_for(
        Duration::from_secs(30),
        "the second acknowledgement",
        || world.delivered(&req).len() == 2,
    );
    let result = daemon.stop();
    assert!(result.is_ok(), "{result:?}");
    let (_, answer) = find_mail(&world, &manager, "opened from").remove(0);
    let reference = answer
        .subject
        .split(['[', ']'])
        .nth(1)
        .expect("the new case in the subject")
        .to_string();
    assert!(
        answer
            .body_text
            .contains(&format!("Done: {} is now case {reference}", ids[1]))
    );
    assert!(
        header(&answer, "reply-to").is_some_and(|r| r.contains(&format!("+{reference}."))),
        "commands for the new case by reply"
    );
    let (store, cases) = world.cases();
    let refs: Vec<String> = cases.iter().map(|c| c.reference.to_string()).collect();
    assert_eq!(refs.len(), 2, "{refs:?}");
    let kept = store.machine_mail_after(0).expect("scan");
    let refused = kept
        .iter()
        .find(|r| r.from == world.addr("alice"))
        .expect("the colleague's #open kept as machine mail");
    assert!(
        refused.why.contains("refused as a command"),
        "{}",
        refused.why
    );
    assert!(refused.opened.is_none());
    let opened = store
        .machine_mail(&ids[1].parse().expect("id"))
        .expect("read")
        .and_then(|r| r.opened)
        .expect("opened");
    assert_eq!(opened.by, world.addr("manager"));
    assert_eq!(opened.case.to_string(), reference);
    drop(store);
    // Once: a restart the same morning lists nothing again.
    let mut again = world.start_at(&format!("{morning}T10:30:00Z"));
    std::thread::sleep(Duration::from_secs(3));
    assert!(again.is_running(), "{}", world.log_text());
    assert!(again.stop().is_ok());
    assert_eq!(listed(&world).len(), 1, "the list went twice");
}
