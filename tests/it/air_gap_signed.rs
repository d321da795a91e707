//! Signatures across the air gap: the metadata's signature travels in the
//! bundle with it, `import --trusted-key` publishes only metadata a trusted
//! key signed, and a signature never stays beside metadata it does not sign.
//!
//! The first story starts from the two months of `air_gap.rs`.

use std::path::Path;

use crate::air_gap::{inside_after_month1, two_months};
use crate::common::World;
use crate::common::bundle::{carried, export, import};
use crate::common::env::{assert_success, run, stderr, stdout};
use crate::common::sync::{metadata, sync};
use crate::common::upstream::{Spec, Upstream};

#[test]
fn since_takes_a_bundle_and_the_signature_travels_with_the_metadata() {
    let world = World::builder().build();
    let env = &world.env;
    let m = two_months(env);
    // The signature's content is not checked here: it only has to arrive.
    let signature = m.outside.join("download-metadata.json.minisig");
    std::fs::write(&signature, "untrusted comment: a test\nRWQ…\n").unwrap();
    let again = env.root().join("media/month2-again.tar");
    let out = export(
        env,
        &m.outside,
        &again,
        &["--since", m.month1.to_str().unwrap()],
    );
    assert_success(&out);
    assert_eq!(carried(std::slice::from_ref(&again)), carried(&m.month2));
    // A split bundle is found by the name given to --out.
    let by_name = env.root().join("media/month2-by-name.tar");
    let month2 = env.root().join("media/month2.tar");
    let out = export(
        env,
        &m.outside,
        &by_name,
        &["--since", month2.to_str().unwrap()],
    );
    assert_success(&out);
    assert!(
        stdout(&out).contains("delta: 0 of 3 files"),
        "{}",
        stdout(&out)
    );
    let names = crate::common::bundle::entries(&again);
    assert!(
        names.iter().any(|n| n == "download-metadata.json.minisig"),
        "{names:?}"
    );

    let (inside, _) = inside_after_month1(env, &m);
    assert_success(&import(env, std::slice::from_ref(&again), &inside, &[]));
    assert_eq!(
        std::fs::read(inside.join("download-metadata.json.minisig")).unwrap(),
        std::fs::read(&signature).unwrap()
    );
    assert_eq!(metadata(&inside), metadata(&m.outside));

    // A mirror never exported has no `last` to compare with: a usage error that says what to do.
    let fresh = env.root().join("fresh");
    let mut up = Upstream::new();
    up.add(Spec::cpython("3.12.7", "20250101"));
    assert_success(&sync(env, &fresh, up.publish(), &[]));
    let out = export(env, &fresh, &env.root().join("x.tar"), &["--since", "last"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no export of") && stderr(&out).contains("export everything first"),
        "{}",
        stderr(&out)
    );
    assert!(!env.root().join("x.tar").exists());
}

/// `import --trusted-key` publishes only metadata signed by a trusted key;
/// anything else is refused before the metadata is published.
#[test]
fn an_import_with_a_trusted_key_publishes_only_signed_metadata() {
    let world = World::builder().build();
    let env = &world.env;
    let keys = env.root().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let keygen = |name: &str| {
        let key = keys.join(name);
        assert_success(&run(env
            .shim()
            .args(["mirror", "keygen", "--out"])
            .arg(&key)));
        key
    };
    let (ours, theirs) = (keygen("ours"), keygen("theirs"));
    let pubkey = |key: &Path| format!("{}.pub", key.display());

    let outside = env.root().join("outside");
    let mut up = Upstream::new();
    up.add(Spec {
        size: 50_000,
        ..Spec::cpython("3.12.7", "20250101")
    });
    let signed = ["--sign", ours.to_str().unwrap()];
    assert_success(&sync(env, &outside, up.publish(), &signed));
    let bundle = env.root().join("media/signed.tar");
    std::fs::create_dir_all(bundle.parent().unwrap()).unwrap();
    assert_success(&export(env, &outside, &bundle, &[]));

    // A key that did not sign it: refused, nothing published.
    let inside = env.root().join("inside");
    let wrong = import(
        env,
        std::slice::from_ref(&bundle),
        &inside,
        &["--trusted-key", &pubkey(&theirs)],
    );
    assert!(!wrong.status.success());
    assert!(stderr(&wrong).contains("not used"), "{}", stderr(&wrong));
    assert!(!inside.join("download-metadata.json").exists());
    // The key that did: published.
    let right = import(
        env,
        std::slice::from_ref(&bundle),
        &inside,
        &["--trusted-key", &pubkey(&ours)],
    );
    assert_success(&right);
    assert!(inside.join("download-metadata.json").exists());

    // Unsigned metadata, a key asked for: refused.
    std::fs::remove_file(outside.join("download-metadata.json.minisig")).unwrap();
    let unsigned = env.root().join("media/unsigned.tar");
    assert_success(&export(env, &outside, &unsigned, &[]));
    let elsewhere = env.root().join("inside-2");
    let refused = import(
        env,
        std::slice::from_ref(&unsigned),
        &elsewhere,
        &["--trusted-key", &pubkey(&ours)],
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("not signed"),
        "{}",
        stderr(&refused)
    );
    assert!(!elsewhere.join("download-metadata.json").exists());

    // `export --sign` signs what it carries: the same mirror, now trusted.
    let resigned = env.root().join("media/resigned.tar");
    assert_success(&export(
        env,
        &outside,
        &resigned,
        &["--sign", theirs.to_str().unwrap()],
    ));
    let accepted = import(
        env,
        std::slice::from_ref(&resigned),
        &elsewhere,
        &["--trusted-key", &pubkey(&theirs)],
    );
    assert_success(&accepted);
    assert!(elsewhere.join("download-metadata.json.minisig").exists());
}

/// New metadata carried unsigned into a signed mirror is published (the
/// admin asked for no key), and the old signature is removed and named on
/// both sides of the gap: no signature stays beside metadata it does not
/// sign, and clients with `trusted-keys` will refuse the mirror.
#[test]
fn unsigned_metadata_over_a_signed_mirror_is_named_on_both_sides() {
    let world = World::builder().build();
    let env = &world.env;
    let key = env.root().join("keys/ours");
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    assert_success(&run(env
        .shim()
        .args(["mirror", "keygen", "--out"])
        .arg(&key)));
    let outside = env.root().join("outside");
    let inside = env.root().join("inside");
    let mut up = Upstream::new();
    up.add(Spec {
        size: 50_000,
        ..Spec::cpython("3.12.7", "20250101")
    });
    assert_success(&sync(
        env,
        &outside,
        up.publish(),
        &["--sign", key.to_str().unwrap()],
    ));
    let month1 = env.root().join("media/month1.tar");
    std::fs::create_dir_all(month1.parent().unwrap()).unwrap();
    assert_success(&export(env, &outside, &month1, &[]));
    assert_success(&import(env, std::slice::from_ref(&month1), &inside, &[]));
    assert!(inside.join("download-metadata.json.minisig").exists());

    // Month 2, synced without --sign: the outside hears of it.
    up.add(Spec {
        size: 50_000,
        ..Spec::cpython("3.13.1", "20250201")
    });
    let synced = sync(env, &outside, up.publish(), &[]);
    assert_success(&synced);
    assert!(
        stderr(&synced).contains("removed download-metadata.json.minisig"),
        "{}",
        stderr(&synced)
    );
    let month2 = env.root().join("media/month2.tar");
    assert_success(&export(env, &outside, &month2, &["--since", "last"]));

    // The inside publishes the new metadata and says the same.
    let imported = import(env, std::slice::from_ref(&month2), &inside, &[]);
    assert_success(&imported);
    assert!(
        stderr(&imported).contains("removed download-metadata.json.minisig"),
        "{}",
        stderr(&imported)
    );
    assert!(
        std::fs::read_to_string(inside.join("download-metadata.json"))
            .unwrap()
            .contains("3.13.1")
    );
    assert!(!outside.join("download-metadata.json.minisig").exists());
    assert!(!inside.join("download-metadata.json.minisig").exists());
    // Imported again: nothing changed, nothing to warn about.
    let again = import(env, std::slice::from_ref(&month2), &inside, &[]);
    assert_success(&again);
    assert!(
        !stderr(&again).contains("removed download-metadata.json.minisig"),
        "{}",
        stderr(&again)
    );
}
