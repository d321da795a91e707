//! Control characters from the network never reach the terminal. Much of
//! what the shim prints came from a mirror or a DNS answer (metadata keys,
//! records, URLs); a terminal escape sequence in there could clear the
//! screen, retitle the window, or, with a line break, forge a line of the
//! shim's own. Every message passes through one escaping function
//! (`redact::controls`): warnings on the `uv` face, `doctor` in text and
//! JSON, `refresh`, the debug log.
//!
//! The stories feed hostile bytes through a real mirror server and a real
//! DNS server on 127.0.0.1 and read the raw bytes the shim printed.

use std::process::Output;

use crate::common::World;
use crate::common::dns::{DOMAIN, NAME};
use crate::common::env::{run, stderr, stdout};
use crate::common::http::Fault;
use crate::common::scene::{METADATA, one_warning};

/// What a hostile key holds: clear the screen, retitle the window, a C1
/// escape introducer, and a line break followed by a forged line.
const HOSTILE_KEY: &str =
    "cpython-3.12-\u{1b}[2J\u{1b}]0;owned\u{7}-\u{9b}31m-\r\nuv-shim: info: all good";

/// The same key as the shim must show it.
const SHOWN_KEY: &str =
    "cpython-3.12-\\x1b[2J\\x1b]0;owned\\x07-\\u{9b}31m-\\x0d\\x0auv-shim: info: all good";

/// Panics when `text` holds a character a terminal would act on.
#[track_caller]
fn assert_no_controls(what: &str, text: &str) {
    let found: Vec<char> = text
        .chars()
        .filter(|c| *c != '\n' && (c.is_control() || ('\u{202a}'..='\u{202e}').contains(c)))
        .collect();
    assert!(found.is_empty(), "{what} printed {found:?}:\n{text}");
}

/// Both streams, checked, as text.
#[track_caller]
fn printed(what: &str, output: &Output) -> String {
    let text = format!("{}{}", stdout(output), stderr(output));
    assert_no_controls(what, &text);
    text
}

#[test]
fn a_terminal_escape_in_a_metadata_key_arrives_escaped() {
    let w = World::scene().build();
    // The good entry under a hostile key, with a malformed sha256, so the
    // document is refused and the message names the key.
    let good: serde_json::Value = serde_json::from_slice(&w.good_document()).unwrap();
    let (_, entry) = good.as_object().unwrap().iter().next().unwrap();
    let mut entry = entry.clone();
    entry["sha256"] = "not-a-hash".into();
    let body = serde_json::json!({ HOSTILE_KEY: entry }).to_string();
    // JSON carries it as `\u001b`; any parser hands back the raw byte.
    assert!(body.contains("\\u001b[2J"), "{body}");
    w.server()
        .set_fault(Some(METADATA), Fault::Body(body.into_bytes()));

    // The `uv` face: one warning line, the key escaped in it.
    let output = run(w.env.uv().arg("--version"));
    let warning = one_warning(&output, &[SHOWN_KEY, "sha256"]);
    assert_no_controls("the uv face", &warning);

    // doctor, as text and as JSON.
    let text = printed("doctor", &run(w.env.shim().arg("doctor")));
    assert!(text.contains(SHOWN_KEY), "{text}");
    let report = w.doctor();
    assert_no_controls("doctor --json", &stdout(&report.output));
    assert!(
        report.json["metadata"]["last_error"]
            .as_str()
            .unwrap()
            .contains(SHOWN_KEY),
        "{}",
        report.dump()
    );

    // refresh, which fails on the same document.
    let text = printed("refresh", &run(w.env.shim().arg("refresh")));
    assert!(text.contains(SHOWN_KEY), "{text}");
}

#[test]
fn a_terminal_escape_in_a_dns_record_arrives_escaped() {
    let mut w = World::dns_scene(&[DOMAIN]).build();
    // Ours, but its URL is not one: the host holds the escape sequences
    // (clear the screen, cursor home).
    w.dns()
        .txt(
            NAME,
            "v=uvm1 url=https://mirror\u{1b}[2J\u{1b}[H.corp.example/uv/",
        )
        .txt(NAME, "v=uvm1 prio=\u{1b}[2J");

    let text = printed("doctor", &run(w.env.shim().arg("doctor")));
    for shown in [
        "`url=https://mirror\\x1b[2J\\x1b[H.corp.example/uv/` is not a URL",
        "`prio=\\x1b[2J` is not a number",
    ] {
        assert!(text.contains(shown), "missing {shown:?} in\n{text}");
    }

    // The debug log of the `uv` face says the same, escaped.
    w.env.set_env("UV_SHIM_LOG", "debug");
    std::fs::remove_dir_all(w.cache_dir().join("dns")).unwrap();
    let output = run(w.env.uv().arg("--version"));
    let text = printed("the debug log", &output);
    assert!(
        text.contains(
            "uv-shim: debug: DNS _uv-mirror.corp.example: record \
             `v=uvm1 url=https://mirror\\x1b[2J\\x1b[H.corp.example/uv/`: ignored: malformed: \
             `url=https://mirror\\x1b[2J\\x1b[H.corp.example/uv/` is not a URL"
        ),
        "{text}"
    );
}
