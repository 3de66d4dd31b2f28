//! Nothing is silently dropped (issue 10 point 5), on the real stack: mail filed as machine mail
//! is kept, turned into a case from the shell while the daemon runs (through its control socket),
//! and listed once for the team's manager the next working morning.

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

    // The next working morning the manager gets the list: the one not opened, with its command.
    let morning = working_days_after(saturday, 1);
    let listed = |w: &World| find_mail(w, &manager, "filed as machine mail");
    let daemon = world.start_at(&format!("{morning}T09:30:00Z"));
    wait_for(Duration::from_secs(20), "the machine-mail list", || {
        !listed(&world).is_empty()
    });
    let result = daemon.stop();
    assert!(result.is_ok(), "{result:?}");
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
    // Once: a restart the same morning lists nothing again.
    let mut again = world.start_at(&format!("{morning}T10:30:00Z"));
    std::thread::sleep(Duration::from_secs(3));
    assert!(again.is_running(), "{}", world.log_text());
    assert!(again.stop().is_ok());
    assert_eq!(listed(&world).len(), 1, "the list went twice");
}
