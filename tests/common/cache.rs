//! Looking at and ageing the shim's cache from a test: the cached metadata
//! copy, its state file (`name value` lines), the warm path's remembered
//! hand-overs (`plan/`), and the cached DNS answers (`dns/`).

use std::path::{Path, PathBuf};

/// The cached metadata copy under `cache_dir` (there must be exactly one),
/// with no debris of interrupted writes (`.tmp-*`) beside it.
#[track_caller]
pub fn metadata_copy(cache_dir: &Path) -> PathBuf {
    let dir = cache_dir.join("metadata");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with(".tmp")),
        "temporary files left: {names:?}"
    );
    let json: Vec<&String> = names.iter().filter(|n| n.ends_with(".json")).collect();
    assert_eq!(json.len(), 1, "{names:?}");
    dir.join(json[0])
}

/// Moves the copy's `fetched` time by `shift` seconds (negative: older) and
/// forgets the warm path's hand-overs, which rest on the old time.
#[track_caller]
pub fn shift_fetched(cache_dir: &Path, shift: i64) {
    let state = metadata_copy(cache_dir).with_extension("state");
    let text = std::fs::read_to_string(&state).unwrap();
    let shifted: String = text
        .lines()
        .map(|line| match line.strip_prefix("fetched ") {
            Some(secs) => format!("fetched {}\n", secs.parse::<i64>().unwrap() + shift),
            None => format!("{line}\n"),
        })
        .collect();
    std::fs::write(&state, shifted).unwrap();
    forget_warm_plans(cache_dir);
}

/// Makes the copy an hour old, as if its TTL had long run out. Unlike a 1 s
/// TTL this keeps the failure backoff at its full 60 s, so "the next call
/// does not ask again" holds however slow the machine.
#[track_caller]
pub fn expire(cache_dir: &Path) {
    shift_fetched(cache_dir, -3600);
}

/// Drops the warm path's remembered hand-overs, as their expiry would.
pub fn forget_warm_plans(cache_dir: &Path) {
    let _ = std::fs::remove_dir_all(cache_dir.join("plan"));
}

/// The cached DNS answers (`<cache>/dns/*`, the lock left out), each with its
/// text, sorted by path.
pub fn dns_answers(cache_dir: &Path) -> Vec<(PathBuf, String)> {
    let dir = cache_dir.join("dns");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<(PathBuf, String)> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none())
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    files.sort();
    files
}

/// Makes the cached DNS answers look received 10 minutes ago with a TTL of
/// 5 minutes, and forgets any failed refresh.
pub fn expire_dns_answers(cache_dir: &Path) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (path, text) in dns_answers(cache_dir) {
        let old: String = text
            .lines()
            .filter(|l| !l.starts_with("stale "))
            .map(|l| match l.split_once(' ') {
                Some(("fetched", _)) => format!("fetched {}\n", now - 600),
                Some(("expires", _)) => format!("expires {}\n", now - 300),
                _ => format!("{l}\n"),
            })
            .collect();
        std::fs::write(path, old).unwrap();
    }
}

/// `expires - fetched` of a cached DNS answer's text.
#[track_caller]
pub fn dns_answer_lifetime(text: &str) -> u64 {
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .trim()
            .parse()
            .unwrap()
    };
    field("expires ") - field("fetched ")
}
