//! The dedupe hash against header stacks as real delivery paths write them.

use super::*;

#[test]
fn dedupe_hash_ignores_only_the_leading_trace_headers() {
    let body = b"From: a@example.org\r\nSubject: x\r\nReceived: by sender\r\n\r\nhello\r\n";
    let base = dedupe_hash(body);
    let same = [
        b"Received: from mx by imap; Mon, 23 Nov 2026 10:00:00 +0000\r\n".to_vec(),
        b"Return-Path: <a@example.org>\r\nDelivered-To: foi@council.example\r\n".to_vec(),
        b"Received: from mx\r\n\tby imap with LMTP\r\n\tid 1; Mon, 23 Nov 2026\r\nX-Original-To: info@x\r\n"
            .to_vec(),
        b"received: lower case name\r\n".to_vec(),
    ];
    for prefix in same {
        let mut raw = prefix.clone();
        raw.extend_from_slice(body);
        assert_eq!(
            dedupe_hash(&raw),
            base,
            "{}",
            String::from_utf8_lossy(&prefix)
        );
    }
    let different: [&[u8]; 4] = [
        b"From: a@example.org\r\nSubject: y\r\nReceived: by sender\r\n\r\nhello\r\n",
        b"X-Other: 1\r\nFrom: a@example.org\r\nSubject: x\r\nReceived: by sender\r\n\r\nhello\r\n",
        b"From: a@example.org\r\nSubject: x\r\n\r\nhello\r\n",
        b"From: a@example.org\r\nSubject: x\r\nReceived: by sender\r\n\r\nhello!\r\n",
    ];
    for raw in different {
        assert_ne!(dedupe_hash(raw), base, "{}", String::from_utf8_lossy(raw));
    }
    assert_eq!(dedupe_hash(b""), sha256_hex(b""));
    assert_eq!(dedupe_hash(b"Received: only trace\r\n"), sha256_hex(b""));
}

/// What the requester's client sent: the part every delivery of the request shares.
const SENT: &str = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=s1;\r\n\
\x20h=from:to:subject:date:message-id; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n\
\x20b=dGVzdHNpZ25hdHVyZQ==\r\n\
From: Patricia Requester <pat@example.org>\r\n\
To: foi@council.example.gov.uk\r\n\
Subject: FOI request: parking fines\r\n\
Date: Mon, 23 Nov 2026 09:59:00 +0000\r\n\
Message-ID: <CAF=abc123@mail.example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Please tell me how many parking fines were issued in 2025.\r\n";

/// Delivered straight to the shared mailbox by our own MTA.
const DIRECT: &str = "Return-Path: <pat@example.org>\r\n\
Delivered-To: foi@council.example.gov.uk\r\n\
Received: from mx1.council.example.gov.uk ([192.0.2.10])\r\n\
\tby imap.council.example.gov.uk with LMTP id 8Hk2B; Mon, 23 Nov 2026 09:59:03 +0000\r\n\
Authentication-Results: mx1.council.example.gov.uk; dkim=pass header.d=example.org;\r\n\
\tspf=pass smtp.mailfrom=example.org; dmarc=pass header.from=example.org\r\n\
Received: from mail.example.org (mail.example.org [198.51.100.7])\r\n\
\tby mx1.council.example.gov.uk (Postfix) with ESMTPS id 4Bc; Mon, 23 Nov 2026 09:59:02 +0000\r\n";

/// The same request sent to an alias that Exchange Online forwards to the shared mailbox: an
/// ARC set and the tenant's own headers on top.
const VIA_M365: &str = "Received: from EUR03-AM7-obe.outbound.protection.outlook.com (mail-am7eur03on2107.outbound.protection.outlook.com [40.107.105.107])\r\n\
\tby mx1.council.example.gov.uk (Postfix) with ESMTPS id 9Zq; Mon, 23 Nov 2026 09:59:09 +0000\r\n\
ARC-Seal: i=2; a=rsa-sha256; s=arcselector9901; d=microsoft.com; cv=pass;\r\n\
\x20b=Zm9yd2FyZGVkc2VhbA==\r\n\
ARC-Message-Signature: i=2; a=rsa-sha256; c=relaxed/relaxed; d=microsoft.com;\r\n\
\x20s=arcselector9901; h=From:Date:Subject:Message-ID; bh=abc=; b=c2ln\r\n\
ARC-Authentication-Results: i=2; mx.microsoft.com 1; spf=pass smtp.mailfrom=example.org;\r\n\
\x20dmarc=pass action=none header.from=example.org; dkim=pass header.d=example.org; arc=pass\r\n\
Authentication-Results: spf=pass (sender IP is 198.51.100.7) smtp.mailfrom=example.org;\r\n\
\x20dkim=pass (signature was verified) header.d=example.org;dmarc=pass action=none\r\n\
\x20header.from=example.org;compauth=pass reason=100\r\n\
Received-SPF: Pass (protection.outlook.com: domain of example.org designates 198.51.100.7 as\r\n\
\x20permitted sender) receiver=protection.outlook.com; client-ip=198.51.100.7\r\n\
X-MS-Exchange-Organization-ExpirationStartTime: 23 Nov 2026 09:59:05.1234\r\n\
\x20(UTC)\r\n\
X-MS-Exchange-Organization-Network-Message-Id: 0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0\r\n\
X-MS-Exchange-Organization-SCL: 1\r\n\
X-Forefront-Antispam-Report: CIP:198.51.100.7;CTRY:GB;LANG:en;SCL:1;SRV:;IPV:NLI;\r\n\
X-Forefront-Antispam-Report-Untrusted: CIP:198.51.100.7;CTRY:GB\r\n\
X-Microsoft-Antispam: BCL:0;ARA:13230040;\r\n\
X-Microsoft-Antispam-Message-Info: dGV4dA==\r\n\
X-MS-Office365-Filtering-Correlation-Id: 0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0\r\n\
X-OriginatorOrg: council.example.gov.uk\r\n\
X-EOPAttributedMessage: 0\r\n\
Received: from mail.example.org (198.51.100.7) by AM7EUR03FT012.mail.protection.outlook.com\r\n\
\x20(10.152.16.1) with Microsoft SMTP Server id 15.20.7000.1; Mon, 23 Nov 2026 09:59:04 +0000\r\n";

/// The same request forwarded by Gmail (lower-case names, X-Received, an ARC set at i=1).
const VIA_GOOGLE: &str = "Delivered-To: foi@council.example.gov.uk\r\n\
X-Received: by 2002:a05:6000:1:b0:33:1 with SMTP id x; Mon, 23 Nov 2026 01:59:05 -0800 (PST)\r\n\
arc-seal: i=1; a=rsa-sha256; t=1795427945; cv=none; d=google.com; s=arc-20160816; b=YQ==\r\n\
arc-message-signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=google.com;\r\n\
\ts=arc-20160816; h=message-id:date:subject:to:from; bh=abc=; b=Yg==\r\n\
arc-authentication-results: i=1; mx.google.com; dkim=pass header.i=@example.org\r\n\
Return-Path: <pat@example.org>\r\n\
Received-SPF: pass (google.com: domain of pat@example.org designates 198.51.100.7)\r\n\
Received: from mail.example.org ([198.51.100.7]) by mx.google.com; Mon, 23 Nov 2026 01:59:04 -0800\r\n";

fn with(prefix: &str, rest: &str) -> Vec<u8> {
    format!("{prefix}{rest}").into_bytes()
}

#[test]
fn one_request_through_different_delivery_paths_hashes_the_same() {
    let base = dedupe_hash(SENT.as_bytes());
    let paths = [
        ("direct", DIRECT.to_string()),
        ("via Microsoft 365", VIA_M365.to_string()),
        ("via Google", VIA_GOOGLE.to_string()),
        ("M365 then our MTA", format!("{DIRECT}{VIA_M365}")),
        ("Google then M365", format!("{VIA_M365}{VIA_GOOGLE}")),
        ("bare LF line ends", DIRECT.replace("\r\n", "\n")),
    ];
    for (name, path) in paths {
        let raw = with(&path, SENT);
        assert_eq!(dedupe_hash(&raw), base, "{name}");
    }
}

#[test]
fn different_messages_behind_the_same_path_still_differ() {
    let base = dedupe_hash(&with(VIA_M365, SENT));
    let changed = [
        (
            "another Message-ID",
            SENT.replace("CAF=abc123", "CAF=abc124"),
        ),
        (
            "another Date",
            SENT.replace("09:59:00 +0000", "10:59:00 +0000"),
        ),
        ("another body", SENT.replace("2025", "2024")),
        (
            "another sender",
            SENT.replace("pat@example.org>", "pam@example.org>"),
        ),
        (
            "a sender-written Authentication-Results below From",
            SENT.replace(
                "To: foi@",
                "Authentication-Results: forged; dmarc=pass\r\nTo: foi@",
            ),
        ),
    ];
    for (name, sent) in changed {
        assert_ne!(dedupe_hash(&with(VIA_M365, &sent)), base, "{name}");
    }
}

#[test]
fn the_leading_block_ends_at_the_first_header_a_path_does_not_write() {
    let table: [(&str, &str); 5] = [
        ("a sender header first", "X-Mailer: Outlook\r\n"),
        ("an Exchange client header", "X-MS-Has-Attach: yes\r\n"),
        ("a name that only starts alike", "Received-By: someone\r\n"),
        ("a line with no colon", "garbage line\r\n"),
        ("a header named like a prefix", "X-MS-Exchange\r\n"),
    ];
    let base = dedupe_hash(SENT.as_bytes());
    for (name, first) in table {
        let raw = with(&format!("{first}{DIRECT}"), SENT);
        assert_ne!(dedupe_hash(&raw), base, "{name}");
        assert_eq!(
            dedupe_hash(&raw),
            sha256_hex(&raw),
            "{name}: nothing skipped"
        );
    }
}

#[test]
fn path_header_names_match_whole_names_or_listed_prefixes() {
    let table: [(&[u8], bool); 12] = [
        (b"Received", true),
        (b"  ARC-Seal ", true),
        (b"authentication-results", true),
        (b"X-MS-Exchange-Organization-SCL", true),
        (b"x-microsoft-antispam-mailbox-delivery", true),
        (b"X-Forefront-Antispam-Report-Untrusted", true),
        (b"X-MS-Office365-Filtering-Correlation-Id", true),
        (b"X-MS-Has-Attach", false),
        (b"From", false),
        (b"DKIM-Signature", false),
        (b"Received-By", false),
        (b"\xff\xfe", false),
    ];
    for (name, want) in table {
        assert_eq!(
            is_path_header(name),
            want,
            "{}",
            String::from_utf8_lossy(name)
        );
    }
}

fn identity(raw: &str) -> Option<String> {
    identity_key(&crate::core::parse::parse(
        raw.as_bytes(),
        &crate::core::extract::SkipDocuments,
    ))
}

#[test]
fn the_delivery_identity_is_message_id_from_and_date() {
    let base = identity(SENT).expect("an identity");
    let same = [
        ("via Microsoft 365", format!("{VIA_M365}{SENT}")),
        (
            "a gateway header above the trace",
            format!("X-Gateway-Scan: clean\r\n{DIRECT}{SENT}"),
        ),
        (
            "a relay header among the sender's",
            SENT.replace(
                "MIME-Version",
                "X-Relayed-By: relay.example.net\r\nMIME-Version",
            ),
        ),
        (
            "the address in capitals",
            SENT.replace("pat@example.org>", "PAT@Example.ORG>"),
        ),
        (
            "another display name",
            SENT.replace("Patricia Requester", "P. Requester"),
        ),
        (
            "the same instant in another zone",
            SENT.replace("09:59:00 +0000", "10:59:00 +0100"),
        ),
        ("another body", SENT.replace("2025", "2024")),
    ];
    for (name, raw) in same {
        assert_eq!(identity(&raw).as_deref(), Some(base.as_str()), "{name}");
    }
    let different = [
        (
            "another sender",
            SENT.replace("pat@example.org>", "mallory@example.net>"),
        ),
        (
            "a look-alike domain",
            SENT.replace("pat@example.org>", "pat@example.org.evil>"),
        ),
        (
            "another Message-ID",
            SENT.replace("CAF=abc123", "CAF=abc124"),
        ),
        ("another second", SENT.replace("09:59:00", "09:59:01")),
    ];
    for (name, raw) in different {
        let key = identity(&raw).expect("an identity");
        assert_ne!(key, base, "{name}");
    }
    let partial = [
        (
            "no Message-ID",
            SENT.replace("Message-ID: <CAF=abc123@mail.example.org>\r\n", ""),
        ),
        (
            "no From",
            SENT.replace("From: Patricia Requester <pat@example.org>\r\n", ""),
        ),
        (
            "no Date",
            SENT.replace("Date: Mon, 23 Nov 2026 09:59:00 +0000\r\n", ""),
        ),
        (
            "an unreadable Date",
            SENT.replace("Mon, 23 Nov 2026 09:59:00 +0000", "yesterday"),
        ),
        (
            "an empty Message-ID",
            SENT.replace("<CAF=abc123@mail.example.org>", "<>"),
        ),
    ];
    for (name, raw) in partial {
        assert_ne!(raw, SENT, "{name}: the table edits the message");
        assert_eq!(identity(&raw), None, "{name}");
    }
}

#[test]
fn the_identity_key_is_sha256_hex_apart_from_the_content_hash() {
    let key = identity(SENT).expect("an identity");
    assert_eq!(key.len(), 64);
    assert!(
        key.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_ne!(key, dedupe_hash(SENT.as_bytes()));
    assert_ne!(key, sha256_hex(b"CAF=abc123@mail.example.org"));
}
