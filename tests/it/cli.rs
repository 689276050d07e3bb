//! The `rota` command as a shell user meets it: secrets never on the command line, and a
//! pipe closed early (`| head`) ends it quietly.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use crate::common::rota_bin;

fn hash(stdin: &str, args: &[&str]) -> std::process::Output {
    let mut c = Command::new(rota_bin())
        .args(["token", "hash"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    c.wait_with_output().unwrap()
}

#[test]
fn token_hash_reads_the_secret_from_stdin_or_a_file_never_argv() {
    let want = rota_server::hash_token("s3cret");
    let out = hash("s3cret\n", &[]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), want);
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("secret");
    std::fs::write(&f, "s3cret\r\n").unwrap();
    let out = hash("", &["--file", f.to_str().unwrap()]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), want);
    // nothing given: refused, not the hash of ""
    let out = hash("", &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no token"));
    // the secret as an argument is not accepted
    let out = hash("", &["s3cret"]);
    assert!(!out.status.success());
}

#[test]
fn a_pipe_closed_early_ends_the_command_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let snap = tmp.path().join("small.snap");
    let st = Command::new(rota_bin())
        .args([
            "catalog",
            "generate",
            "--records",
            "20000",
            "--libraries",
            "60",
            "--out",
        ])
        .arg(&snap)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    // read 10 bytes of it, then close the pipe
    let mut c = Command::new(rota_bin())
        .args(["catalog", "lookup"])
        .arg(&snap)
        .args(["--title", "kaka", "--limit", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = c.stdout.take().unwrap();
    let mut first = [0u8; 10];
    out.read_exact(&mut first).unwrap();
    drop(out);
    let o = c.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
}
