//! An import under the eyes of its clients: the inside mirror is listed
//! over HTTP all through an import whose last part arrives slowly, and
//! every listing is the old metadata or the new one, whole.

use crate::air_gap::{inside_after_month1, two_months};
use crate::common::World;
use crate::common::env::{assert_success, run};
use crate::common::http::HttpServer;
use crate::common::sync::verify;

/// `GET path` from `server`, the body as it came: a client that lists the
/// mirror, with no cache and no check of its own to hide what it got.
fn list(server: &HttpServer, path: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: inside\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let at = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    answer.split_off(at + 4)
}

/// Clients list the inside mirror all through an import (its last part
/// arrives slowly, through a pipe): each sees the old metadata or the new
/// one, whole, and the new one only with every file it names in place.
#[cfg(unix)]
#[test]
fn a_client_listing_during_an_import_sees_the_old_or_the_new_metadata() {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};

    let world = World::builder().build();
    let env = &world.env;
    let m = two_months(env);
    let (inside, before) = inside_after_month1(env, &m);
    let after = std::fs::read(m.outside.join("download-metadata.json")).unwrap();
    assert_ne!(before, after);
    let server = HttpServer::start(&inside);

    let last = m.month2.last().unwrap().clone();
    let bytes = std::fs::read(&last).unwrap();
    std::fs::remove_file(&last).unwrap();
    assert_success(&run(env.command("mkfifo").arg(&last)));
    let mut child = env
        .shim()
        .args(["mirror", "import"])
        .args(&m.month2)
        .arg("--dest")
        .arg(&inside)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let done = AtomicBool::new(false);
    /// Stops the client however the import ends, a failed assertion included.
    struct Stop<'a>(&'a AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let seen = std::thread::scope(|scope| {
        let client = scope.spawn(|| {
            let mut seen = Vec::new();
            while !done.load(Ordering::SeqCst) {
                let body = list(&server, "/download-metadata.json");
                let new = body == after;
                assert!(new || body == before, "a client got a broken listing");
                if new {
                    for file in &m.new {
                        assert!(inside.join(&file.rel).is_file(), "{} not there", file.rel);
                    }
                }
                if seen.last() != Some(&new) {
                    seen.push(new);
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            seen
        });
        let stop = Stop(&done);
        // The last part, a few KiB at a time, while the client lists.
        // Opened without waiting, so an import that failed before reading
        // the pipe is reported rather than waited for.
        let mut pipe = loop {
            use std::os::unix::fs::OpenOptionsExt;
            let opened = std::fs::File::options()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&last);
            match opened {
                Ok(pipe) => break pipe,
                Err(err) if err.raw_os_error() == Some(libc::ENXIO) => {
                    if child.try_wait().unwrap().is_some() {
                        assert_success(&child.wait_with_output().unwrap());
                        panic!("the import ended before reading its last part");
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(err) => panic!("{}: {err}", last.display()),
            }
        };
        // The import stops reading at the bundle's end mark: the tar
        // padding after it may meet a closed pipe.
        'feed: for chunk in bytes.chunks(4096) {
            let mut rest = chunk;
            while !rest.is_empty() {
                match pipe.write(rest) {
                    Ok(n) => rest = &rest[n..],
                    Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => break 'feed,
                    Err(err) => panic!("{}: {err}", last.display()),
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        drop(pipe);
        let out = child.wait_with_output().unwrap();
        assert_success(&out);
        // One more listing after the import ended.
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(stop);
        client.join().unwrap()
    });
    assert_eq!(
        seen,
        [false, true],
        "old metadata, then the new, never back"
    );
    assert_success(&verify(env, &inside));
}
