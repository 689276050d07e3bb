//! The operators' console, driven in a real browser (Debian's Chromium through
//! ChromeDriver, by WebDriver) against the real server, and its JSON twins asked by a
//! script with a bearer token.
//!
//! With `CONSOLE_SHOTS_DIR=DIR` the browser test saves a screenshot of each page there
//! (`scripts/console-shots.sh` makes the ones in `docs/console/`).

mod api;
mod browser;
mod driver;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use crate::server::{Server, channel, rt, start};

pub(super) const OPS: &str = "ops-secret";
pub(super) const FRONT: &str = "front-secret";

/// A consortium with an ops token and a frontend token, its console on a free port.
pub(super) fn serve(dir: &Path) -> (Server, String) {
    let cfg = dir.join("rota.toml");
    let h = |t: &str| rota_server::hash_token(t);
    std::fs::write(
        &cfg,
        format!(
            "[[tokens]]\nname = \"ops-anna\"\nsha256 = \"{}\"\nrole = \"ops\"\n\n\
             [[tokens]]\nname = \"ill-L1\"\nsha256 = \"{}\"\nrole = \"frontend\"\nborrowers = [\"L00001\"]\n",
            h(OPS),
            h(FRONT)
        ),
    )
    .unwrap();
    let s = start(
        &dir.join("data"),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--console-listen",
            "127.0.0.1:0",
        ],
    );
    rt().block_on(channel(&s.addr));
    let base = format!("http://{}", s.console.clone().expect("console address"));
    (s, base)
}

/// One HTTP/1.1 exchange: (status, body). The console's JSON twins are for scripts, so a
/// script's plain request is what asks them here.
pub(crate) fn http(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let host = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
