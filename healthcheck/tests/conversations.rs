#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "test code"
)]

//! Byte-level conversation tests for HTTP, SMTP and DNS, hostile peers
//! included: each ends in a clean verdict with bounded memory.

use healthcheck::dns::{self, DnsCheck, DnsConfig, QType};
use healthcheck::http::{Expect, HttpCheck, HttpConfig, HttpSpec};
use healthcheck::smtp::{SmtpCheck, SmtpConfig};
use healthcheck::{Conversation, FailReason, Verdict};

fn http(cfg: &HttpConfig) -> HttpCheck {
    HttpCheck::new(HttpSpec::new(cfg).unwrap())
}

/// Feeds `resp` in pieces of `step` bytes, then EOF.
fn run(c: &mut dyn Conversation, resp: &[u8], step: usize, eof: bool) -> Option<Verdict> {
    for chunk in resp.chunks(step.max(1)) {
        c.handle_data(chunk);
    }
    if eof {
        c.handle_eof();
    }
    c.verdict()
}

fn all_steps(cfg: &HttpConfig, resp: &[u8], eof: bool) -> Verdict {
    let mut first = None;
    for step in [1, 2, 3, 7, 64, resp.len().max(1)] {
        let v = run(&mut http(cfg), resp, step, eof).unwrap();
        assert_eq!(*first.get_or_insert(v.clone()), v, "step {step}");
    }
    first.unwrap()
}

const MD5_HELLO: &str = "5d41402abc4b2a76b9719d911017c592"; // md5("hello")

#[test]
fn http_request_bytes() {
    let mut c = http(&HttpConfig::new("/health?x=1", "www.example.com"));
    assert_eq!(
        c.poll_transmit().unwrap(),
        b"GET /health?x=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: dsas-healthcheck\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(c.poll_transmit(), None);
    assert!(HttpSpec::new(&HttpConfig::new("/a b", "h")).is_err());
    assert!(HttpSpec::new(&HttpConfig::new("x", "h")).is_err());
    assert!(HttpSpec::new(&HttpConfig::new("/", "h\r\nX: y")).is_err());
    let mut bad = HttpConfig::new("/", "h");
    bad.digest = Some("xyz".into());
    assert!(HttpSpec::new(&bad).is_err());
    bad.digest = None;
    bad.expect = Some(Expect::Regex("(".into()));
    assert!(HttpSpec::new(&bad).is_err());
}

#[test]
fn http_status_ranges() {
    let cfg = HttpConfig::new("/", "h");
    assert_eq!(
        all_steps(&cfg, b"HTTP/1.1 200 OK\r\n\r\n", false),
        Verdict::PASS
    );
    assert_eq!(
        all_steps(&cfg, b"HTTP/1.0 204\r\n\r\n", false),
        Verdict::PASS
    );
    assert_eq!(
        all_steps(
            &cfg,
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
            false
        ),
        Verdict::Fail(FailReason::HttpStatus(500))
    );
    let mut cfg = HttpConfig::new("/", "h");
    cfg.status = vec![(200, 200), (301, 302)];
    cfg.fail_now_on_status = true;
    assert_eq!(
        all_steps(&cfg, b"HTTP/1.1 302 Found\r\n\r\n", false),
        Verdict::PASS
    );
    assert_eq!(
        all_steps(&cfg, b"HTTP/1.1 503 Busy\r\n\r\n", false),
        Verdict::FailNow(FailReason::HttpStatus(503))
    );
    // Interim 100 Continue is skipped.
    assert_eq!(
        all_steps(
            &cfg,
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
            false
        ),
        Verdict::PASS
    );
}

#[test]
fn http_digest_content_length_chunked_and_eof() {
    let mut cfg = HttpConfig::new("/", "h");
    cfg.digest = Some(MD5_HELLO.into());
    let ok = Verdict::PASS;
    assert_eq!(
        all_steps(
            &cfg,
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            false
        ),
        ok
    );
    assert_eq!(
        all_steps(
            &cfg,
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhellx",
            false
        ),
        Verdict::Fail(FailReason::DigestMismatch)
    );
    assert_eq!(
        all_steps(
            &cfg,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=1\r\nhe\r\n3\r\nllo\r\n0\r\nX-Trailer: a\r\n\r\n",
            false
        ),
        ok
    );
    assert_eq!(all_steps(&cfg, b"HTTP/1.0 200 OK\r\n\r\nhello", true), ok);
    assert_eq!(
        all_steps(
            &cfg,
            b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello",
            true
        ),
        Verdict::Fail(FailReason::ClosedEarly)
    );
    assert_eq!(
        all_steps(
            &cfg,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            false
        ),
        Verdict::Fail(FailReason::Malformed("bad chunk size"))
    );
    assert_eq!(
        all_steps(
            &cfg,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX",
            false
        ),
        Verdict::Fail(FailReason::Malformed("missing CRLF after chunk"))
    );
}

#[test]
fn http_expectations() {
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\nstatus: ready 42\n";
    let mut cfg = HttpConfig::new("/", "h");
    cfg.expect = Some(Expect::Substring(b"ready".to_vec()));
    assert_eq!(all_steps(&cfg, resp, false), Verdict::PASS);
    cfg.expect = Some(Expect::Substring(b"down".to_vec()));
    assert_eq!(
        all_steps(&cfg, resp, false),
        Verdict::Fail(FailReason::ExpectMismatch)
    );
    cfg.expect = Some(Expect::Regex(r"ready \d+$".into()));
    assert_eq!(
        all_steps(&cfg, resp, false),
        Verdict::Fail(FailReason::ExpectMismatch),
        "no multi-line"
    );
    cfg.expect = Some(Expect::Regex(r"(?m)ready \d+$".into()));
    assert_eq!(all_steps(&cfg, resp, false), Verdict::PASS);
}

#[test]
fn http_hostile_peers() {
    let mut cfg = HttpConfig::new("/", "h");
    cfg.max_header_bytes = 1024;
    cfg.max_body_bytes = 4096;
    cfg.digest = Some(MD5_HELLO.into());
    cfg.expect = Some(Expect::Substring(b"hello".to_vec()));
    let head_cap = 1024;
    let body_cap = 4096;
    // Garbage and wrong protocols fail at once.
    for resp in [
        &b"\x00\xff\x13garbage"[..],
        b"220 smtp.example ESMTP\r\n",
        b"SSH-2.0-OpenSSH_9.2\r\n",
        b"\x16\x03\x01\x02\x00",
    ] {
        assert_eq!(
            all_steps(&cfg, resp, false),
            Verdict::Fail(FailReason::Malformed("not an HTTP response")),
            "{resp:?}"
        );
    }
    assert!(matches!(
        all_steps(&cfg, b"HTTP/2 200\r\n\r\n", false),
        Verdict::Fail(FailReason::Malformed(_))
    ));
    assert!(matches!(
        all_steps(&cfg, b"HTTP/1.1 20x OK\r\n\r\n", false),
        Verdict::Fail(FailReason::Malformed(_))
    ));
    assert!(matches!(
        all_steps(
            &cfg,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            false
        ),
        Verdict::Fail(FailReason::Malformed(_))
    ));
    // Endless headers: fails once past the cap, memory stays bounded.
    let mut c = http(&cfg);
    c.handle_data(b"HTTP/1.1 200 OK\r\n");
    let mut n = 0;
    while c.verdict().is_none() {
        c.handle_data(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        assert!(c.buffered() <= head_cap + 1);
        n += 1;
        assert!(n < 1000);
    }
    assert_eq!(
        c.verdict(),
        Some(Verdict::Fail(FailReason::HeadersTooLarge))
    );
    assert_eq!(c.buffered(), 0);
    // Huge declared body: refused before reading it.
    assert_eq!(
        all_steps(
            &cfg,
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
            false
        ),
        Verdict::Fail(FailReason::BodyTooLarge)
    );
    // Never-ending body without a length, and never-ending chunks.
    for head in [
        &b"HTTP/1.1 200 OK\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    ] {
        let mut c = http(&cfg);
        c.handle_data(head);
        let chunked = head.len() > 20;
        let mut n = 0;
        while c.verdict().is_none() {
            if chunked {
                c.handle_data(b"100\r\n");
                c.handle_data(&[b'a'; 0x100]);
                c.handle_data(b"\r\n");
            } else {
                c.handle_data(&[b'a'; 100]);
            }
            assert!(c.buffered() <= body_cap, "{}", c.buffered());
            n += 1;
            assert!(n < 1000);
        }
        assert_eq!(c.verdict(), Some(Verdict::Fail(FailReason::BodyTooLarge)));
    }
    // Endless chunk-size line and endless trailers.
    let mut c = http(&cfg);
    c.handle_data(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for _ in 0..100 {
        c.handle_data(b"0000000000000000000000");
    }
    assert_eq!(
        c.verdict(),
        Some(Verdict::Fail(FailReason::Malformed(
            "chunk-size line too long"
        )))
    );
    let mut c = http(&cfg);
    c.handle_data(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n");
    for _ in 0..100 {
        c.handle_data(b"X: yyyyyyyyyyyyyyyyyyyyy\r\n");
    }
    assert_eq!(
        c.verdict(),
        Some(Verdict::Fail(FailReason::HeadersTooLarge))
    );
    // Slow drip: one byte at a time never concludes early nor grows
    // beyond the bytes given; the engine's timeout ends it.
    let mut c = http(&cfg);
    for &b in b"HTTP/1.1 200 OK\r\nContent-Le" {
        c.handle_data(&[b]);
    }
    assert_eq!(c.verdict(), None);
    assert_eq!(c.buffered(), 27);
    c.handle_eof();
    assert_eq!(
        c.verdict(),
        Some(Verdict::Fail(FailReason::Malformed(
            "truncated response head"
        )))
    );
    // Silence then close.
    let mut c = http(&cfg);
    c.handle_eof();
    assert_eq!(c.verdict(), Some(Verdict::Fail(FailReason::ClosedEarly)));
}

fn smtp() -> SmtpCheck {
    SmtpCheck::new(&SmtpConfig::default()).unwrap()
}

#[test]
fn smtp_conversation_exact_bytes() {
    let mut c = smtp();
    assert_eq!(c.poll_transmit(), None, "client waits for the greeting");
    c.handle_data(b"220-mail.example.org ESMTP\r\n220-second line\r\n");
    assert_eq!(c.poll_transmit(), None, "multi-line greeting not finished");
    c.handle_data(b"220 ready\r\n");
    assert_eq!(
        c.poll_transmit().unwrap(),
        b"HELO smtpchecker.keepalived.org\r\n"
    );
    c.handle_data(b"250 mail.example.org\r\n");
    assert_eq!(c.verdict(), Some(Verdict::PASS));
    assert_eq!(c.poll_transmit().unwrap(), b"QUIT\r\n");
    assert_eq!(c.poll_transmit(), None);
    // Bare LF line endings and a bare code are tolerated.
    let mut c = smtp();
    assert_eq!(run(&mut c, b"220\n250 ok\n", 1, false), Some(Verdict::PASS));
    assert!(
        SmtpCheck::new(&SmtpConfig {
            helo_name: "a b".into()
        })
        .is_err()
    );
}

#[test]
fn smtp_failures_and_hostile_peers() {
    let v = |resp: &[u8]| run(&mut smtp(), resp, 3, true).unwrap();
    assert_eq!(
        v(b"554 go away\r\n"),
        Verdict::Fail(FailReason::SmtpReply(554))
    );
    assert_eq!(
        v(b"220 hi\r\n501 bad HELO\r\n"),
        Verdict::Fail(FailReason::SmtpReply(501))
    );
    assert_eq!(v(b"220 hi\r\n"), Verdict::Fail(FailReason::ClosedEarly));
    assert!(matches!(
        v(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
        Verdict::Fail(FailReason::Malformed(_))
    ));
    assert!(matches!(
        v(b"\x00\x01\x02\n"),
        Verdict::Fail(FailReason::Malformed(_))
    ));
    assert!(matches!(
        v(b"220-a\r\n250 b\r\n"),
        Verdict::Fail(FailReason::Malformed(_))
    ));
    assert!(matches!(
        v(b"999 what\r\n"),
        Verdict::Fail(FailReason::Malformed(_))
    ));
    // Endless line and endless multi-line reply.
    let mut c = smtp();
    while c.verdict().is_none() {
        c.handle_data(&[b'2'; 100]);
        assert!(c.buffered() <= healthcheck::smtp::MAX_LINE);
    }
    assert!(matches!(
        c.verdict(),
        Some(Verdict::Fail(FailReason::Malformed(_)))
    ));
    let mut c = smtp();
    for _ in 0..100 {
        c.handle_data(b"220-more\r\n");
    }
    assert_eq!(
        c.verdict(),
        Some(Verdict::Fail(FailReason::Malformed("SMTP reply too long")))
    );
}

/// A response to `query` with `answers` records `(type, rdata)` whose
/// names are compression pointers to the question.
fn response(query: &[u8], rcode: u8, answers: &[(u16, &[u8])]) -> Vec<u8> {
    let mut r = query.to_vec();
    r[2] = 0x81; // QR, RD
    r[3] = 0x80 | rcode; // RA
    r[6..8].copy_from_slice(&u16::try_from(answers.len()).unwrap().to_be_bytes());
    for (ty, data) in answers {
        r.extend_from_slice(&[0xc0, 12]);
        r.extend_from_slice(&ty.to_be_bytes());
        r.extend_from_slice(&[0, 1, 0, 0, 0x0e, 0x10]);
        r.extend_from_slice(&u16::try_from(data.len()).unwrap().to_be_bytes());
        r.extend_from_slice(data);
    }
    r
}

#[test]
fn dns_query_bytes() {
    let cfg = DnsConfig {
        name: "www.Example.com".into(),
        qtype: QType::Aaaa,
        require_answer: true,
    };
    let mut c = DnsCheck::new(&cfg, 0xbeef).unwrap();
    let q = c.poll_transmit().unwrap();
    let mut want = vec![0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    want.extend_from_slice(b"\x03www\x07Example\x03com\x00\x00\x1c\x00\x01");
    assert_eq!(q, want);
    assert_eq!(c.poll_transmit(), None);
    // keepalived default: SOA for the root.
    let root = DnsCheck::new(&DnsConfig::default(), 1).unwrap().query();
    assert_eq!(root, [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1]);
    for (t, code) in [
        (QType::A, 1),
        (QType::Ns, 2),
        (QType::Cname, 5),
        (QType::Soa, 6),
        (QType::Mx, 15),
        (QType::Txt, 16),
        (QType::Aaaa, 28),
    ] {
        assert_eq!(t.code(), code);
    }
    assert!(dns::encode_name("a..b").is_err());
    assert!(dns::encode_name(&"a".repeat(64)).is_err());
    assert!(dns::encode_name(&["abcdefgh"; 40].join(".")).is_err());
}

#[test]
fn dns_response_checks() {
    let cfg = DnsConfig {
        name: "example.com".into(),
        qtype: QType::A,
        require_answer: true,
    };
    let q = DnsCheck::new(&cfg, 7).unwrap().query();
    let check = |r: &[u8]| {
        let mut c = DnsCheck::new(&cfg, 7).unwrap();
        let _ = c.poll_transmit();
        c.handle_data(r);
        c.verdict().unwrap()
    };
    // A CNAME then the A record: passes.
    let ok = response(&q, 0, &[(5, b"\xc0\x0c"), (1, &[192, 0, 2, 1])]);
    assert_eq!(check(&ok), Verdict::PASS);
    assert_eq!(
        check(&response(&q, 0, &[(5, b"\xc0\x0c")])),
        Verdict::Fail(FailReason::DnsNoAnswer)
    );
    assert_eq!(
        check(&response(&q, 3, &[])),
        Verdict::Fail(FailReason::DnsRcode(3))
    );
    assert_eq!(
        check(&response(&q, 2, &[])),
        Verdict::Fail(FailReason::DnsRcode(2))
    );
    let mut bad_id = ok.clone();
    bad_id[1] ^= 1;
    assert_eq!(check(&bad_id), Verdict::Fail(FailReason::DnsIdMismatch));
    assert_eq!(
        check(&q),
        Verdict::Fail(FailReason::DnsNotResponse),
        "our own query echoed"
    );
    // keepalived semantics: no answer needed.
    let lax = DnsConfig {
        require_answer: false,
        ..cfg.clone()
    };
    let mut c = DnsCheck::new(&lax, 7).unwrap();
    c.handle_data(&response(&q, 0, &[]));
    assert_eq!(c.verdict(), Some(Verdict::PASS));
    // Case-insensitive question match.
    let mut upper = ok.clone();
    upper[13] = b'E';
    assert_eq!(check(&upper), Verdict::PASS);
}

#[test]
fn dns_hostile_responses() {
    let cfg = DnsConfig {
        name: "example.com".into(),
        qtype: QType::A,
        require_answer: true,
    };
    let q = DnsCheck::new(&cfg, 7).unwrap().query();
    let check =
        |r: &[u8]| dns::check_response(r, 7, &dns::encode_name("example.com").unwrap(), 1, true);
    let malformed = |r: &[u8]| matches!(check(r), Verdict::Fail(FailReason::Malformed(_)));
    assert!(matches!(
        check(&[]),
        Verdict::Fail(FailReason::Malformed(_))
    ));
    assert!(malformed(&[0, 7, 0x81]));
    // Pointer loop: the answer name points at itself.
    let mut r = response(&q, 0, &[(1, &[1, 2, 3, 4])]);
    let at = q.len();
    r[at..at + 2].copy_from_slice(&[0xc0, u8::try_from(at).unwrap()]);
    assert!(malformed(&r));
    // Two pointers pointing at each other (the second backwards to the first).
    let mut r = response(&q, 0, &[(1, &[1, 2, 3, 4])]);
    r.truncate(q.len());
    let p = u8::try_from(q.len()).unwrap();
    r.extend_from_slice(&[0xc0, p + 2, 0xc0, p]);
    r[6..8].copy_from_slice(&[0, 1]);
    assert!(malformed(&r));
    // Forward pointer, reserved label type, truncated record, huge rdlength.
    let mut r = response(&q, 0, &[(1, &[1, 2, 3, 4])]);
    r[at + 1] = 0xff;
    assert!(malformed(&r));
    let mut r = response(&q, 0, &[(1, &[1, 2, 3, 4])]);
    r[at] = 0x80;
    assert!(malformed(&r));
    let r = response(&q, 0, &[(1, &[1, 2, 3, 4])]);
    assert!(malformed(&r[..r.len() - 1]));
    let mut r = response(&q, 0, &[(1, &[1, 2, 3, 4])]);
    r[at + 10] = 0xff;
    assert!(malformed(&r));
    // ANCOUNT lies.
    let mut r = response(&q, 0, &[(1, &[1, 2, 3, 4])]);
    r[6..8].copy_from_slice(&[0xff, 0xff]);
    assert!(malformed(&r));
    // A different question.
    let other = DnsCheck::new(
        &DnsConfig {
            name: "example.net".into(),
            ..cfg.clone()
        },
        7,
    )
    .unwrap()
    .query();
    assert!(malformed(&response(&other, 0, &[(1, &[1, 2, 3, 4])])));
    // Wrong protocol (an HTTP reply on the DNS port).
    assert!(matches!(
        check(b"HTTP/1.1 200 OK\r\n\r\n"),
        Verdict::Fail(_)
    ));
}
