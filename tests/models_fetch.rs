//! `h2g models fetch` against a local HTTP server written for the test: a file is kept only
//! when its SHA-256 is the one pinned (by the manifest or by `--sha256`), and nothing is left
//! behind otherwise.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use assert_cmd::Command;
use sha2::Digest;

/// Serves `body` to each of `n` requests on a free local port; returns the URL.
fn serve(body: Vec<u8>, n: usize) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/model.onnx", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for s in l.incoming().take(n) {
            let mut s = s.unwrap();
            let mut req = [0u8; 4096];
            let _ = s.read(&mut req);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    url
}

fn hex(b: &[u8]) -> String {
    sha2::Sha256::digest(b)
        .iter()
        .map(|v| format!("{v:02x}"))
        .collect()
}

fn fetch(url: &str, dir: &Path, sha: Option<&str>) -> std::process::Output {
    let mut c = Command::cargo_bin("h2g").unwrap();
    c.args([
        "models",
        "fetch",
        "test-patch-classifier",
        "--url",
        url,
        "--dir",
    ])
    .arg(dir);
    if let Some(s) = sha {
        c.args(["--sha256", s]);
    }
    c.output().unwrap()
}

#[test]
fn a_download_is_kept_only_with_the_pinned_digest() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = std::fs::read(root.join("models/test/patch_classifier.onnx")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("models/test-patch-classifier.json")).unwrap(),
    )
    .unwrap();
    // the committed model is the one its manifest pins (checked here, not assumed)
    assert_eq!(manifest["sha256"].as_str(), Some(hex(&model).as_str()));
    let dir = tempfile::tempdir().unwrap();

    // the right bytes: kept under the manifest's file name
    let o = fetch(&serve(model.clone(), 1), dir.path(), None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(dir.path().join("patch_classifier.onnx")).unwrap(),
        model
    );

    // one byte changed: refused, named, and the earlier good file is not replaced
    let mut bad = model.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let o = fetch(&serve(bad.clone(), 1), dir.path(), None);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&hex(&bad)) && err.contains(manifest["sha256"].as_str().unwrap()),
        "{err}"
    );
    assert_eq!(common::entries(dir.path()), ["patch_classifier.onnx"]);
    assert_eq!(
        std::fs::read(dir.path().join("patch_classifier.onnx")).unwrap(),
        model
    );

    // --sha256 takes the place of the manifest's pin: the changed bytes are kept when it names
    // them (upper case accepted), and refused when it names another digest
    let other = tempfile::tempdir().unwrap();
    let o = fetch(
        &serve(bad.clone(), 1),
        other.path(),
        Some(&hex(&bad).to_uppercase()),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(other.path().join("patch_classifier.onnx")).unwrap(),
        bad
    );
    let empty = tempfile::tempdir().unwrap();
    let o = fetch(&serve(bad, 1), empty.path(), Some(&hex(&model)));
    assert_eq!(o.status.code(), Some(1));
    assert!(common::entries(empty.path()).is_empty());
}
