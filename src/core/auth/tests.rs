use super::*;

const GW: &str = "mx.example.gov.uk";

fn h(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
        .collect()
}

fn trusted() -> Vec<String> {
    vec![GW.to_string()]
}

/// (name, headers from the top, From, authenticated?)
type Row<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, bool);

#[test]
fn authenticate_table() {
    let pass = "mx.example.gov.uk; dmarc=pass header.from=resident.org.uk";
    let fail = "mx.example.gov.uk; dmarc=fail header.from=resident.org.uk";
    let cases: &[Row] = &[
        (
            "dmarc pass",
            &[("Authentication-Results", pass)],
            "a@resident.org.uk",
            true,
        ),
        (
            "dmarc pass under trace headers",
            &[
                ("Return-Path", "<a@resident.org.uk>"),
                ("Received", "from mx by imap"),
                ("Authentication-Results", pass),
                ("Received", "from outside by mx"),
                ("From", "a@resident.org.uk"),
            ],
            "a@resident.org.uk",
            true,
        ),
        (
            "dmarc fail",
            &[("Authentication-Results", fail)],
            "a@resident.org.uk",
            false,
        ),
        (
            "forged pass below the gateway's fail",
            &[
                ("Authentication-Results", fail),
                ("Received", "from outside by mx"),
                ("Authentication-Results", pass),
            ],
            "a@resident.org.uk",
            false,
        ),
        (
            "forged pass below the gateway's neutral result",
            &[
                ("Authentication-Results", "mx.example.gov.uk; spf=none"),
                ("Received", "from attacker by mx"),
                ("Authentication-Results", pass),
            ],
            "a@resident.org.uk",
            false,
        ),
        (
            "forged pass below a sender header",
            &[
                ("Received", "from attacker by mx"),
                ("Subject", "hello"),
                ("Authentication-Results", pass),
            ],
            "a@resident.org.uk",
            false,
        ),
        (
            "multiple A-R in the gateway block: dkim aligned",
            &[
                (
                    "Authentication-Results",
                    "mx.example.gov.uk; spf=fail smtp.mailfrom=x@other.com",
                ),
                (
                    "Authentication-Results",
                    "mx.example.gov.uk; dkim=pass header.d=resident.org.uk",
                ),
            ],
            "a@resident.org.uk",
            true,
        ),
        (
            "one A-R, several methods, spf aligned subdomain",
            &[(
                "Authentication-Results",
                "mx.example.gov.uk; dkim=none; spf=pass smtp.mailfrom=bounce@mail.resident.org.uk",
            )],
            "a@resident.org.uk",
            true,
        ),
        (
            "dkim pass but not aligned",
            &[(
                "Authentication-Results",
                "mx.example.gov.uk; dkim=pass header.d=bulk.com",
            )],
            "a@resident.org.uk",
            false,
        ),
        (
            "spf pass but not aligned",
            &[(
                "Authentication-Results",
                "mx.example.gov.uk; spf=pass smtp.mailfrom=a@evil.com",
            )],
            "a@resident.org.uk",
            false,
        ),
        (
            "dmarc fail wins over an aligned dkim pass",
            &[(
                "Authentication-Results",
                "mx.example.gov.uk; dkim=pass header.d=resident.org.uk; dmarc=fail header.from=resident.org.uk",
            )],
            "a@resident.org.uk",
            false,
        ),
        (
            "authserv-id in another case",
            &[(
                "Authentication-Results",
                "MX.Example.GOV.UK; dmarc=pass header.from=resident.org.uk",
            )],
            "a@Resident.ORG.uk",
            true,
        ),
        (
            "another gateway's id is not trusted",
            &[(
                "Authentication-Results",
                "mx.evil.com; dmarc=pass header.from=resident.org.uk",
            )],
            "a@resident.org.uk",
            false,
        ),
        (
            "an untrusted A-R above the gateway's does not hide it",
            &[
                ("Authentication-Results", "spamfilter.local; spf=none"),
                ("Authentication-Results", pass),
            ],
            "a@resident.org.uk",
            true,
        ),
        (
            "comments, version and quoted values",
            &[(
                "Authentication-Results",
                "mx.example.gov.uk 1 (our gateway); dmarc=pass (p=reject; dis=none) header.from=\"resident.org.uk\"",
            )],
            "a@resident.org.uk",
            true,
        ),
        (
            "dmarc for another From domain",
            &[(
                "Authentication-Results",
                "mx.example.gov.uk; dmarc=pass header.from=evil.com",
            )],
            "a@resident.org.uk",
            false,
        ),
        (
            "malformed: id only",
            &[("Authentication-Results", "mx.example.gov.uk")],
            "a@resident.org.uk",
            false,
        ),
        (
            "malformed: empty",
            &[("Authentication-Results", "")],
            "a@resident.org.uk",
            false,
        ),
        (
            "malformed: garbage results",
            &[(
                "Authentication-Results",
                "mx.example.gov.uk; ;;= ; dmarc; =pass; (((",
            )],
            "a@resident.org.uk",
            false,
        ),
        (
            "no A-R at all",
            &[("Received", "x"), ("From", "a@resident.org.uk")],
            "a@resident.org.uk",
            false,
        ),
        (
            "no From domain",
            &[("Authentication-Results", pass)],
            "resident",
            false,
        ),
    ];
    for (name, headers, from, want) in cases {
        let got = authenticate(&h(headers), Some(from), &trusted());
        assert_eq!(got.is_authenticated(), *want, "{name}: {got:?}");
    }
}

#[test]
fn no_gateway_configured_is_never_authenticated() {
    let headers = h(&[(
        "Authentication-Results",
        "mx.example.gov.uk; dmarc=pass header.from=resident.org.uk",
    )]);
    let got = authenticate(&headers, Some("a@resident.org.uk"), &[]);
    assert_eq!(got, Authenticity::NoGateway);
    assert!(got.describe().contains("no trusted mail gateway"));
}

#[test]
fn verdicts_name_method_and_reason() {
    let headers = h(&[(
        "Authentication-Results",
        "mx.example.gov.uk; spf=pass smtp.mailfrom=a@resident.org.uk; dmarc=pass header.from=resident.org.uk",
    )]);
    assert_eq!(
        authenticate(&headers, Some("a@resident.org.uk"), &trusted()),
        Authenticity::Authenticated {
            method: "dmarc".into(),
            domain: "resident.org.uk".into()
        }
    );
    let none = authenticate(&h(&[]), Some("a@resident.org.uk"), &trusted());
    assert!(
        none.describe()
            .contains("no Authentication-Results from the trusted gateway")
    );
    assert!(
        authenticate(&h(&[]), None, &trusted())
            .describe()
            .contains("no usable From")
    );
}

#[test]
fn alignment_table() {
    let cases = [
        ("resident.org.uk", "resident.org.uk", true),
        ("mail.resident.org.uk", "resident.org.uk", true),
        ("resident.org.uk", "mail.resident.org.uk", true),
        ("RESIDENT.org.uk.", "resident.org.uk", true),
        ("evilresident.org.uk", "resident.org.uk", false),
        ("other.org.uk", "resident.org.uk", false),
        ("", "resident.org.uk", false),
    ];
    for (a, b, want) in cases {
        assert_eq!(aligned(a, b), want, "{a} ~ {b}");
    }
}

#[test]
fn dmarc_fail_is_its_own_verdict_and_a_rule_flag() {
    let headers = h(&[(
        "Authentication-Results",
        "mx.example.gov.uk; spf=pass smtp.mailfrom=bulk.example; dmarc=fail header.from=hmrc.gov.uk",
    )]);
    let a = authenticate(&headers, Some("refunds@hmrc.gov.uk"), &trusted());
    assert_eq!(
        a,
        Authenticity::DmarcFail {
            domain: "hmrc.gov.uk".into()
        }
    );
    assert!(!a.is_authenticated());
    assert_eq!(a.rule_flags(), ["dmarc-fail"]);
    assert!(
        a.describe().contains("DMARC fail for hmrc.gov.uk"),
        "{}",
        a.describe()
    );
    // The same header from a gateway we do not trust says nothing.
    let b = authenticate(
        &headers,
        Some("refunds@hmrc.gov.uk"),
        &["mx.other.example".into()],
    );
    assert!(b.rule_flags().is_empty(), "{b:?}");
}
