//! Is this message really from the domain in its `From`? Read from the `Authentication-Results`
//! headers our own gateway added (RFC 8601), never from anything a sender could write. Pure.
//!
//! Every header of an incoming message may be forged except those our own delivery chain
//! prepends after receiving it. A gateway stamps its verdict in an `Authentication-Results`
//! header that names it (the `authserv-id`); an outsider can write a header with the same name
//! further down, so *where* the header is matters as much as what it says.
//!
//! # The rule (RFC 8601 §5: ignore results claiming our id that we did not add)
//! 1. Read the headers from the top. Our delivery chain prepends only trace headers
//!    ([`is_trace`]: `Received`, `Return-Path`, `Delivered-To`, `ARC-*`, `X-MS-*`…), so the walk
//!    gives up at the first other header (`From`, `Subject`, `DKIM-Signature`…): that one was
//!    written by the sender, and so may everything below it have been.
//! 2. The first `Authentication-Results` header found whose `authserv-id` is trusted (letter case
//!    ignored) starts the gateway's block; the block goes on while the next header is also an
//!    `Authentication-Results`. The first header of any other name ends it: an outsider's
//!    header can only sit below the gateway's own ones, so a forged result below them is never
//!    read. This assumes the gateway stamps every message it passes (Microsoft 365, Google
//!    Workspace and an MTA running OpenDMARC/rspamd all do); name only such a gateway.
//! 3. In that block: DMARC `pass` for the From domain authenticates, as does DKIM `pass` with a
//!    signing domain (`header.d`, or the domain of `header.i`) or SPF `pass` with an envelope
//!    domain (`smtp.mailfrom`) aligned with it. A DMARC `fail` for the From domain wins over
//!    everything. Alignment is relaxed: the same domain or a subdomain of the other (no public
//!    suffix list: a signing domain must be controlled by whoever signs, so `gov.uk` never
//!    signs for `council.gov.uk`).
//! 4. With no trusted gateway configured nothing is authenticated ([`Authenticity::NoGateway`]).

use serde::Serialize;

/// What the gateway's results say about the message's From domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(tag = "auth", rename_all = "snake_case")]
pub enum Authenticity {
    /// No trusted gateway is configured: nothing can be authenticated.
    #[default]
    NoGateway,
    /// The From domain is vouched for by the trusted gateway.
    Authenticated {
        /// `dmarc`, `dkim` or `spf`.
        method: String,
        /// The From domain.
        domain: String,
    },
    /// The trusted gateway reports DMARC fail for the From domain: the domain's owner says mail
    /// like this is not theirs. The strongest sign of a forged sender (and, for a domain that a
    /// bank or a government department owns, of phishing).
    DmarcFail {
        /// The From domain.
        domain: String,
    },
    /// The trusted gateway's results do not vouch for the From domain.
    NotAuthenticated {
        /// Why, for the audit.
        why: String,
    },
}

impl Authenticity {
    /// Whether the message may change a case's state.
    pub fn is_authenticated(&self) -> bool {
        matches!(self, Authenticity::Authenticated { .. })
    }

    /// The flags the rules may test ([`crate::core::rules`]): `dmarc-fail` when the trusted
    /// gateway says the From domain's owner disowns the message.
    pub fn rule_flags(&self) -> &'static [&'static str] {
        match self {
            Authenticity::DmarcFail { .. } => &["dmarc-fail"],
            _ => &[],
        }
    }

    /// One line for the audit and the log.
    pub fn describe(&self) -> String {
        match self {
            Authenticity::NoGateway => {
                "not authenticated: no trusted mail gateway is configured ([trust] authserv_ids)"
                    .into()
            }
            Authenticity::Authenticated { method, domain } => {
                format!("authenticated: {method} pass for {domain} from the trusted gateway")
            }
            Authenticity::DmarcFail { domain } => {
                format!("not authenticated: the trusted gateway reports DMARC fail for {domain}")
            }
            Authenticity::NotAuthenticated { why } => format!("not authenticated: {why}"),
        }
    }
}

/// One `method=result` with the properties that name a domain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct MethodResult {
    method: String,
    result: String,
    props: Vec<(String, String)>,
}

impl MethodResult {
    fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Judges a message: `headers` in order from the top (lower-cased names as `Message::headers`
/// keeps them), the From address, and the trusted authserv-ids.
pub fn authenticate(
    headers: &[(String, String)],
    from: Option<&str>,
    trusted: &[String],
) -> Authenticity {
    if trusted.is_empty() {
        return Authenticity::NoGateway;
    }
    let not = |why: String| Authenticity::NotAuthenticated { why };
    let Some(domain) = from.and_then(domain_of) else {
        return not("the message has no usable From address".into());
    };
    let results = gateway_results(headers, trusted);
    if results.is_empty() {
        return not(format!(
            "no Authentication-Results from the trusted gateway ({}) at the top of the message",
            trusted.join(", ")
        ));
    }
    decide(&results, &domain)
}

/// The results of the trusted gateway's block at the top of the headers (see the module rule).
fn gateway_results(headers: &[(String, String)], trusted: &[String]) -> Vec<MethodResult> {
    let mut results = Vec::new();
    let mut in_block = false;
    for (name, value) in headers {
        let is_ar = name.eq_ignore_ascii_case("authentication-results");
        if in_block && !is_ar {
            break;
        }
        if is_ar {
            let (id, parsed) = parse_results(value);
            if trusted.iter().any(|t| t.eq_ignore_ascii_case(&id)) {
                in_block = true;
                results.extend(parsed);
            }
            continue;
        }
        if !is_trace(name) {
            break;
        }
    }
    results
}

/// Headers a receiving chain adds on top of a message (trace and gateway stamps).
pub fn is_trace(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "received" | "return-path" | "delivered-to" | "x-original-to" | "received-spf"
    ) || [
        "arc-",
        "x-ms-",
        "x-microsoft-",
        "x-forefront-",
        "x-google-",
        "x-gm-",
    ]
    .iter()
    .any(|p| n.starts_with(p))
}

/// The verdict from the gateway's results for `domain` (lower case).
fn decide(results: &[MethodResult], domain: &str) -> Authenticity {
    let mut pass: Option<&str> = None;
    for r in results {
        let m = r.method.as_str();
        let aligned = match m {
            "dmarc" => r.prop("header.from").is_none_or(|d| aligned(d, domain)),
            "dkim" => r
                .prop("header.d")
                .or_else(|| r.prop("header.i").and_then(|i| i.rsplit('@').next()))
                .is_some_and(|d| aligned(d, domain)),
            "spf" => r
                .prop("smtp.mailfrom")
                .and_then(|a| a.rsplit('@').next())
                .is_some_and(|d| aligned(d, domain)),
            _ => false,
        };
        if !aligned {
            continue;
        }
        if m == "dmarc" && r.result == "fail" {
            return Authenticity::DmarcFail {
                domain: domain.into(),
            };
        }
        if r.result == "pass" {
            // DMARC is the strongest word; otherwise the first aligned pass is named.
            pass = match pass {
                Some(p) if p == "dmarc" || m != "dmarc" => Some(p),
                _ => Some(m),
            };
        }
    }
    match pass {
        Some(method) => Authenticity::Authenticated {
            method: method.into(),
            domain: domain.into(),
        },
        None => Authenticity::NotAuthenticated {
            why: format!(
                "the trusted gateway reports no DMARC pass, nor DKIM or SPF pass aligned with \
                 {domain}"
            ),
        },
    }
}

/// Relaxed alignment: equal, or one a subdomain of the other (letter case ignored).
fn aligned(a: &str, b: &str) -> bool {
    let (a, b) = (
        a.trim().trim_end_matches('.').to_ascii_lowercase(),
        b.trim().trim_end_matches('.').to_ascii_lowercase(),
    );
    !a.is_empty()
        && !b.is_empty()
        && (a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}")))
}

/// The domain of an address, lower case (`None` when there is none).
fn domain_of(addr: &str) -> Option<String> {
    let (_, d) = addr.trim().rsplit_once('@')?;
    let d = d.trim().trim_end_matches('>').to_ascii_lowercase();
    (!d.is_empty()).then_some(d)
}

/// Splits an `Authentication-Results` value into its authserv-id (lower case) and results.
/// Comments are dropped; a malformed part is skipped, never an error.
fn parse_results(value: &str) -> (String, Vec<MethodResult>) {
    let clean = strip_comments(value);
    let mut parts = split_outside_quotes(&clean, ';').into_iter();
    let id = parts
        .next()
        .and_then(|p| p.split_whitespace().next().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    let results = parts.filter_map(|p| parse_resinfo(&p)).collect();
    (id, results)
}

fn parse_resinfo(part: &str) -> Option<MethodResult> {
    let mut tokens = split_outside_quotes(part, ' ').into_iter();
    let first = tokens.next()?;
    let (method, result) = first.split_once('=')?;
    let method = method.split('/').next()?.trim().to_ascii_lowercase();
    let props = tokens
        .filter_map(|t| {
            let (k, v) = t.split_once('=')?;
            Some((
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_string(),
            ))
        })
        .filter(|(k, _)| k.contains('.'))
        .collect();
    Some(MethodResult {
        method,
        result: result.trim().to_ascii_lowercase(),
        props,
    })
}

/// The text without `( … )` comments (nested, outside quotes).
fn strip_comments(s: &str) -> String {
    let (mut out, mut depth, mut quoted) = (String::with_capacity(s.len()), 0usize, false);
    for c in s.chars() {
        match c {
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Non-empty pieces of `s` split at `sep` (whitespace for `' '`) outside double quotes.
fn split_outside_quotes(s: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let (mut cur, mut quoted) = (String::new(), false);
    for c in s.chars() {
        let is_sep = if sep == ' ' {
            c.is_whitespace()
        } else {
            c == sep
        };
        if c == '"' {
            quoted = !quoted;
        }
        if is_sep && !quoted {
            if !cur.trim().is_empty() {
                parts.push(cur.trim().to_string());
            }
            cur.clear();
        } else {
            cur.push(c);
        }
    }
    if !cur.trim().is_empty() {
        parts.push(cur.trim().to_string());
    }
    parts
}

#[cfg(test)]
mod tests;
