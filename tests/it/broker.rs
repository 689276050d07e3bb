//! The ISO 18626 broker end to end over HTTP: the real server brokering between
//! scripted libraries (`rota peer serve`, a separate process): a requester's request
//! through rota to lenders, Unfilled → the next lender, a loan to its return, a cancel
//! mid-way, a lender that never answers, and a SIGKILL of rota mid-transaction with
//! nothing lost or sent twice.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rota_proto::v1 as pb;
use serde_json::Value;

use crate::common::rota_bin;
use crate::server::{Server, channel, isbn, lookup_synthetic, rt, start};

/// A port free now (bound and released), for a process started next.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Peer {
    child: Child,
    lines: Arc<Mutex<Vec<Value>>>,
    port: u16,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    /// `rota peer serve` on a port of its choosing, answering the broker on `broker`
    /// (100 ms before each answer unless `args` say otherwise).
    fn start(broker: u16, args: &[&str]) -> Peer {
        let delay: &[&str] = if args.contains(&"--delay-ms") {
            &[]
        } else {
            &["--delay-ms", "100"]
        };
        let mut child = Command::new(rota_bin())
            .args(["peer", "serve", "--listen", "127.0.0.1:0"])
            .arg("--broker")
            .arg(format!("http://127.0.0.1:{broker}/iso18626"))
            .args(delay)
            .args(args)
            .env("ROTA_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rota peer");
        let err = child.stderr.take().unwrap();
        let mut err = BufReader::new(err).lines();
        let first = err.next().expect("a line").expect("readable");
        let port = first
            .strip_prefix("rota peer: libraries at http://127.0.0.1:")
            .and_then(|r| r.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        std::thread::spawn(move || for _ in err {});
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = BufReader::new(child.stdout.take().unwrap());
        let l = lines.clone();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line).expect("a JSON line");
                l.lock().unwrap().push(v);
            }
        });
        Peer { child, lines, port }
    }

    /// The messages received for request `id`.
    fn of(&self, id: &str) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|v| v["request_id"] == id)
            .cloned()
            .collect()
    }

    /// Waits until the messages for `id` satisfy `done` (panics after a minute, printing
    /// what arrived).
    fn wait(&self, id: &str, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.of(id);
            if done(&got) {
                return got;
            }
            assert!(
                Instant::now() < until,
                "{id}: never {what}; received {got:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Messages `to` received for a request, as `message/status-or-action` strings (resends,
/// the same bytes again, left out).
fn story(lines: &[Value], to: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|v| v["to"] == to && v["duplicate"] == false)
        .map(|v| {
            let what = v["status"].as_str().or(v["action"].as_str()).unwrap_or("");
            format!("{}/{what}", v["message"].as_str().unwrap_or(""))
        })
        .collect()
}

/// The lenders asked, in order.
fn asked(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter(|v| v["message"] == "request" && v["duplicate"] == false)
        .map(|v| v["to"].as_str().unwrap_or("").to_string())
        .collect()
}

struct World {
    server: Server,
    iso: u16,
    config: std::path::PathBuf,
}

fn config(dir: &Path, iso: u16, peer: u16, timeout_secs: u64) -> std::path::PathBuf {
    let path = dir.join("rota.toml");
    std::fs::write(
        &path,
        format!(
            r#"[iso18626]
listen = "127.0.0.1:{iso}"
agency = "ISIL:ROTA"
lender_endpoint = "http://127.0.0.1:{peer}/iso18626/{{symbol}}"
answer_timeout_secs = {timeout_secs}
resend_secs = 1
"#
        ),
    )
    .unwrap();
    path
}

/// The scripted libraries (started first: they choose their port) and rota brokering
/// between them.
fn broker(dir: &Path, timeout_secs: u64, peer_args: &[&str]) -> (World, Peer) {
    broker_with(dir, timeout_secs, peer_args, &[])
}

/// [`broker`], with more `rota serve` arguments.
fn broker_with(dir: &Path, timeout_secs: u64, peer_args: &[&str], extra: &[&str]) -> (World, Peer) {
    let iso = free_port();
    let peer = Peer::start(iso, peer_args);
    let config = config(dir, iso, peer.port, timeout_secs);
    let server = serve_with(dir, &config, iso, extra);
    (
        World {
            server,
            iso,
            config,
        },
        peer,
    )
}

fn serve(dir: &Path, config: &Path, iso: u16) -> Server {
    serve_with(dir, config, iso, &[])
}

fn serve_with(dir: &Path, config: &Path, iso: u16, extra: &[&str]) -> Server {
    let listen = format!("127.0.0.1:{iso}");
    let mut args = vec![
        "--config",
        config.to_str().unwrap(),
        "--iso18626-listen",
        &listen,
    ];
    args.extend_from_slice(extra);
    let s = start(&dir.join("data"), &args);
    rt().block_on(channel(&s.addr));
    s
}

/// An item with at least `n` lending holders, and a library that does not hold it.
fn item_and_borrower(addr: &str, n: usize) -> (String, String) {
    rt().block_on(async {
        let mut c = pb::catalog_client::CatalogClient::new(channel(addr).await);
        for i in 0..2000u64 {
            let m = lookup_synthetic(&mut c, i).await;
            let holders = &m.matches[0].holders;
            if holders.iter().filter(|h| h.loan).count() >= n {
                let borrower = (0..60)
                    .map(|k| format!("L{k:05}"))
                    .find(|s| holders.iter().all(|h| &h.symbol != s))
                    .expect("a library without it");
                return (isbn(i), borrower);
            }
        }
        panic!("no item with {n} lending holders");
    })
}

/// The lending string (up to 20 lenders) the server at `addr` routes now.
async fn string(addr: &str, borrower: &str, isbn: &str) -> Vec<String> {
    let mut r = pb::routing_client::RoutingClient::new(channel(addr).await);
    r.route(pb::RouteRequest {
        request_id: "string".into(),
        borrower: borrower.into(),
        citation: Some(pb::Citation {
            isbn: isbn.into(),
            ..Default::default()
        }),
        max_lenders: 20,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .lenders
    .into_iter()
    .map(|l| l.symbol)
    .collect()
}

fn request(w: &World, from: &str, id: &str, isbn: &str) {
    let o = Command::new(rota_bin())
        .args(["peer", "request", "--broker"])
        .arg(format!("http://127.0.0.1:{}/iso18626", w.iso))
        .args(["--from", from, "--id", id, "--isbn", isbn])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.contains("OK"),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn act(w: &World, from: &str, id: &str, action: &str) {
    let o = Command::new(rota_bin())
        .args(["peer", "send", "--broker"])
        .arg(format!("http://127.0.0.1:{}/iso18626", w.iso))
        .args(["--from", from, "--id", id, "--action", action])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn no_duplicates(lines: &[Value]) {
    let dups: Vec<&Value> = lines.iter().filter(|v| v["duplicate"] == true).collect();
    assert!(dups.is_empty(), "messages received twice: {dups:#?}");
}

#[test]
fn unfilled_moves_on_and_a_loan_is_relayed_to_its_return() {
    let tmp = tempfile::tempdir().unwrap();
    let (w, peer) = broker_with(
        tmp.path(),
        3600,
        &["--sequence", "unfilled:NotHeld,retry:OnLoan,loan"],
        &["--console-listen", "127.0.0.1:0"],
    );
    let (item, borrower) = item_and_borrower(&w.server.addr, 4);

    request(&w, &borrower, "B-1", &item);
    let lines = peer.wait("B-1", "completed", |l| {
        story(l, &borrower).contains(&"supplyingAgencyMessage/LoanCompleted".to_string())
    });
    let lenders = asked(&lines);
    assert_eq!(lenders.len(), 3, "{lines:#?}");
    assert!(
        lenders[0] != lenders[1] && lenders[1] != lenders[2] && lenders[0] != lenders[2],
        "{lenders:?}"
    );
    assert!(!lenders.contains(&borrower));
    // the requester sees the supplier's progress, never the lenders that said no
    assert_eq!(
        story(&lines, &borrower),
        [
            "supplyingAgencyMessage/WillSupply",
            "supplyingAgencyMessage/Loaned",
            "supplyingAgencyMessage/LoanCompleted"
        ]
    );
    for l in lines.iter().filter(|v| v["to"] == borrower) {
        assert_eq!(l["supplier"], "ISIL:ROTA", "{l}");
    }
    // the lender that loaned gets the requester's receipt and return
    assert_eq!(
        story(&lines, &lenders[2]),
        [
            "request/",
            "requestingAgencyMessage/Received",
            "requestingAgencyMessage/ShippedReturn"
        ]
    );
    // each lender is asked as the requester's own request, by the requester
    for l in lines.iter().filter(|v| v["message"] == "request") {
        assert_eq!(l["requester"], format!("ISIL:{borrower}"), "{l}");
        assert_eq!(l["supplier"], format!("ISIL:{}", l["to"].as_str().unwrap()));
    }
    no_duplicates(&lines);

    // the console tells the whole story: the routing the broker did, then every event
    let console = format!("http://{}", w.server.console.as_deref().unwrap());
    let until = Instant::now() + Duration::from_secs(30);
    let story = loop {
        let (code, body) = crate::console::http(
            &console,
            "GET",
            // ISO 18626 request ids are unique per requester: rota names them REQUESTER/ID
            &format!("/api/requests/{borrower}/{borrower}%2FB-1"),
            &[("Authorization", "Bearer demo")],
            "",
        );
        let v: Value = serde_json::from_str(&body).unwrap_or_default();
        let kinds: Vec<String> = v["events"]
            .as_array()
            .map(|e| {
                e.iter()
                    .map(|e| e["kind"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default();
        if code == 200 && kinds.iter().any(|k| k == "returned") {
            break v;
        }
        assert!(Instant::now() < until, "no whole story: {code} {body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(story["routings"].as_array().unwrap().len(), 1, "{story}");
    assert!(
        story["routings"][0]["who"]
            .as_str()
            .unwrap()
            .starts_with("ISO 18626")
    );
    let routed: Vec<&str> = story["routings"][0]["lenders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(
        routed[..3],
        lenders.iter().map(String::as_str).collect::<Vec<_>>()[..]
    );
    let sent: Vec<&str> = story["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "sent")
        .map(|e| e["lender"].as_str().unwrap())
        .collect();
    assert_eq!(sent, lenders.iter().map(String::as_str).collect::<Vec<_>>());

    // every relayed message taught the routing: the lender that said "not held" is
    // left out of the next string for this item
    rt().block_on(async {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let s = string(&w.server.addr, &borrower, &item).await;
            if s.iter().all(|l| *l != lenders[0]) {
                break;
            }
            assert!(
                Instant::now() < until,
                "{} said not held and is still routed to",
                lenders[0]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}

#[test]
fn a_string_that_runs_out_ends_unfilled_with_the_last_lenders_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let (w, peer) = broker(tmp.path(), 3600, &["--answer", "unfilled:NonCirculating"]);
    let (item, borrower) = item_and_borrower(&w.server.addr, 2);

    request(&w, &borrower, "B-2", &item);
    peer.wait("B-2", "ended", |l| !story(l, &borrower).is_empty());
    // time for a wrongly relayed second message to show up
    std::thread::sleep(Duration::from_millis(500));
    let lines = peer.of("B-2");
    assert!(asked(&lines).len() >= 2, "{lines:#?}");
    assert_eq!(
        story(&lines, &borrower),
        ["supplyingAgencyMessage/Unfilled"],
        "{lines:#?}"
    );
    no_duplicates(&lines);
    // a request for an item nobody has is answered unfilled at once
    request(&w, &borrower, "B-3", "9780000000002");
    let none = peer.wait("B-3", "answered", |l| !l.is_empty());
    assert_eq!(story(&none, &borrower), ["supplyingAgencyMessage/Unfilled"]);
    assert!(asked(&none).is_empty());
}

#[test]
fn a_cancel_mid_way_and_a_lender_that_never_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let (w, peer) = broker(tmp.path(), 3, &["--sequence", "silent,silent,loan"]);
    let (item, borrower) = item_and_borrower(&w.server.addr, 3);

    // silent lenders: each is cancelled after the answer timeout and the next is asked
    request(&w, &borrower, "S-1", &item);
    let lines = peer.wait("S-1", "loaned", |l| {
        story(l, &borrower).contains(&"supplyingAgencyMessage/Loaned".to_string())
    });
    let lenders = asked(&lines);
    assert_eq!(lenders.len(), 3, "{lines:#?}");
    for silent in &lenders[..2] {
        assert_eq!(
            story(&lines, silent),
            ["request/", "requestingAgencyMessage/Cancel"],
            "{lines:#?}"
        );
    }

    // a cancel while the lender has not answered: relayed, answered, relayed back
    request(&w, &borrower, "C-1", &item);
    let first = peer.wait("C-1", "asked", |l| !asked(l).is_empty());
    let lender = asked(&first)[0].clone();
    act(&w, &borrower, "C-1", "Cancel");
    let lines = peer.wait("C-1", "cancelled", |l| {
        story(l, &borrower).contains(&"supplyingAgencyMessage/Cancelled".to_string())
    });
    assert_eq!(
        story(&lines, &lender),
        ["request/", "requestingAgencyMessage/Cancel"]
    );
    // the transaction is over: the answer timeout does not ask anyone else
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(asked(&peer.of("C-1")), [lender]);
    no_duplicates(&peer.of("C-1"));
    no_duplicates(&peer.of("S-1"));

    // a message for a transaction the broker does not have is refused, naming the id
    let o = Command::new(rota_bin())
        .args(["peer", "send", "--broker"])
        .arg(format!("http://127.0.0.1:{}/iso18626", w.iso))
        .args(["--from", &borrower, "--id", "NO-SUCH", "--action", "Cancel"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("UnrecognisedDataValue") && out.contains("NO-SUCH"),
        "{out}"
    );
}

#[test]
fn a_sigkill_mid_transaction_loses_nothing_and_sends_nothing_twice() {
    let tmp = tempfile::tempdir().unwrap();
    // the lender answers 1.5 s after the request: rota is down by then, and the peer
    // has to resend until rota is back
    let (mut w, peer) = broker(
        tmp.path(),
        3600,
        &["--sequence", "unfilled:NotHeld,loan", "--delay-ms", "1500"],
    );
    let (item, borrower) = item_and_borrower(&w.server.addr, 3);

    request(&w, &borrower, "K-1", &item);
    peer.wait("K-1", "asked twice", |l| asked(l).len() == 2);
    // the forwarded request has been confirmed (the peer printed it before answering
    // its confirmation); SIGKILL, no drain, no checkpoint
    std::thread::sleep(Duration::from_millis(300));
    w.server.child.kill().unwrap();
    w.server.child.wait().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    w.server = serve(tmp.path(), &w.config, w.iso);
    let lines = peer.wait("K-1", "completed", |l| {
        story(l, &borrower).contains(&"supplyingAgencyMessage/LoanCompleted".to_string())
    });
    assert_eq!(
        story(&lines, &borrower),
        [
            "supplyingAgencyMessage/WillSupply",
            "supplyingAgencyMessage/Loaned",
            "supplyingAgencyMessage/LoanCompleted"
        ],
        "{lines:#?}"
    );
    assert_eq!(asked(&lines).len(), 2);
    no_duplicates(&lines);

    // a request taken just before the kill is carried on after it; a message the kill
    // caught between the peer's confirmation and its record may be sent again, the same
    // bytes (the peer recognises the resend), and nothing is acted on twice
    request(&w, &borrower, "K-2", &item);
    w.server.child.kill().unwrap();
    w.server.child.wait().unwrap();
    w.server = serve(tmp.path(), &w.config, w.iso);
    let lines = peer.wait("K-2", "completed", |l| {
        story(l, &borrower).contains(&"supplyingAgencyMessage/LoanCompleted".to_string())
    });
    assert_eq!(asked(&lines).len(), 2, "{lines:#?}");
    assert_eq!(
        story(&lines, &borrower),
        [
            "supplyingAgencyMessage/WillSupply",
            "supplyingAgencyMessage/Loaned",
            "supplyingAgencyMessage/LoanCompleted"
        ],
        "{lines:#?}"
    );
}

/// `yaz-ztest`, the Z39.50/SRU test server, on `port`: with `on_loan`, every record it
/// returns over SRU is an OPAC record whose one copy is out (a predefined record, as its
/// manual describes); else its built-in records, whose copies are on the shelf, over
/// SRU and Z39.50 alike.
struct Ztest(Child);

impl Drop for Ztest {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Ztest {
    fn start(dir: &Path, port: u16, on_loan: bool) -> Ztest {
        let mut cmd = Command::new("yaz-ztest");
        if on_loan {
            std::fs::write(
                dir.join("loanedopac.1.xml"),
                r#"<opacRecord><bibliographicRecord><record xmlns="http://www.loc.gov/MARC21/slim"><leader>00366nam a22001698a 4500</leader></record></bibliographicRecord><holdings><holding><localLocation>Main</localLocation><circulations><circulation><availableNow value="0"/><availabilityDate>2026-12-21</availabilityDate><itemId>55</itemId></circulation></circulations></holding></holdings></opacRecord>"#,
            )
            .unwrap();
            cmd.env("YAZ_ZTEST_XML_FETCH", dir.join("loaned"))
                .arg(format!("tcp:127.0.0.1:{port}"));
        } else {
            // SRU's recordSchema "opac": the built-in OPAC records as OPAC XML
            let gfs = dir.join(format!("gfs-{port}.xml"));
            std::fs::write(
                &gfs,
                format!(
                    r#"<yazgfs><listen id="l">tcp:127.0.0.1:{port}</listen><server id="s" listenref="l"><retrievalinfo>
<retrieval syntax="xml" name="opac"><backend syntax="opac" name="F"><marc inputformat="marc" outputformat="marcxml" inputcharset="utf-8"/></backend></retrieval>
<retrieval syntax="opac" name="F"/></retrievalinfo></server></yazgfs>"#
                ),
            )
            .unwrap();
            cmd.arg("-f").arg(&gfs);
        }
        let child = cmd
            .arg("-l")
            .arg(dir.join(format!("ztest-{port}.log")))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("yaz-ztest (Debian package yaz) is installed");
        let until = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "yaz-ztest never listened on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Ztest(child)
    }
}

#[test]
#[cfg_attr(
    rota_no_yaz,
    ignore = "needs yaz-ztest: apt-get install yaz (CI installs it)"
)]
fn catalogues_asked_before_routing_keep_requests_from_lenders_whose_copies_are_out() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // the demo consortium's directory, and an item's string with no lookups at all
    let first = start(&dir.join("first"), &[]);
    rt().block_on(channel(&first.addr));
    let (item, borrower) = item_and_borrower(&first.addr, 8);
    let string = rt().block_on(string(&first.addr, &borrower, &item));
    drop(first);
    assert!(string.len() >= 7, "{string:?}");
    let data = dir.join("first");
    let snap = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "snap"))
        .expect("the demo snapshot");
    let lenders = snap.with_extension("lenders.toml");

    // seven of its lenders get catalogues: SRU on yaz-ztest (shelf / out), NCIP on the
    // scripted peer (out / shelf), one that never answers, one that is not there, and
    // Z39.50 on yaz-ztest (shelf)
    let (shelf_port, out_port) = (free_port(), free_port());
    let _z1 = Ztest::start(dir, shelf_port, false);
    let _z2 = Ztest::start(dir, out_port, true);
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = free_port();
    let h: Vec<&str> = string.iter().take(7).map(String::as_str).collect();
    let iso = free_port();
    let peer = Peer::start(
        iso,
        &[
            "--answer",
            "unfilled:NotHeld",
            "--catalogue",
            &format!("{}=on-loan", h[2]),
            "--catalogue",
            &format!("{}=on-shelf", h[3]),
        ],
    );
    let sru = |port: u16| {
        format!(r#"lookup = {{ protocol = "sru", url = "http://127.0.0.1:{port}/Default" }}"#)
    };
    let ncip = |sym: &str| {
        format!(
            r#"lookup = {{ protocol = "ncip", url = "http://127.0.0.1:{}/ncip/{sym}" }}"#,
            peer.port
        )
    };
    let lookups = [
        (h[0], sru(shelf_port)),
        (h[1], sru(out_port)),
        (h[2], ncip(h[2])),
        (h[3], ncip(h[3])),
        (h[4], sru(silent.local_addr().unwrap().port())),
        (h[5], sru(dead)),
        (
            h[6],
            format!(
                r#"lookup = {{ protocol = "z3950", url = "z3950://127.0.0.1:{shelf_port}/Default" }}"#
            ),
        ),
    ];
    let mut text = std::fs::read_to_string(&lenders).unwrap();
    for (sym, line) in &lookups {
        let at = format!("symbol = \"{sym}\"\n");
        assert!(text.contains(&at), "{sym} not in the directory");
        text = text.replacen(&at, &format!("{at}{line}\n"), 1);
    }
    let edited = dir.join("lenders.toml");
    std::fs::write(&edited, text).unwrap();

    // each catalogue answers `rota directory probe` as the broker will see it
    let probe = |lender: &str| {
        let o = Command::new(rota_bin())
            .args(["directory", "probe", "--directory"])
            .arg(&edited)
            .args(["--lender", lender, "--isbn", &item, "--timeout-ms", "1000"])
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    for (k, code, says) in [
        (0, 0, "on the shelf"),
        (1, 0, "on loan until 2026-12-21"),
        (2, 0, "on loan until"),
        (3, 0, "on the shelf"),
        (4, 1, "no answer within 1000 ms"),
        (5, 1, "the lookup failed"),
        (6, 0, "on the shelf"),
    ] {
        let (c, out) = probe(h[k]);
        assert!(
            c == Some(code) && out.contains(says),
            "{} ({k}): {c:?} {out}",
            h[k]
        );
    }
    let cfg = config(dir, iso, peer.port, 3600);
    let mut c = std::fs::read_to_string(&cfg).unwrap();
    // every holder is asked (and its catalogue looked up), so who is left out shows
    c.push_str("max_lenders = 60\navailability_lenders = 60\navailability_budget_ms = 1500\n");
    std::fs::write(&cfg, c).unwrap();
    let w = World {
        server: serve_with(
            dir,
            &cfg,
            iso,
            &[
                "--snapshot",
                snap.to_str().unwrap(),
                "--directory",
                edited.to_str().unwrap(),
            ],
        ),
        iso,
        config: cfg,
    };

    // every lender says "not held": the string runs out, and who was asked shows
    request(&w, &borrower, "A-1", &item);
    let lines = peer.wait("A-1", "ended", |l| !story(l, &borrower).is_empty());
    let asked = asked(&lines);
    for out in [h[1], h[2]] {
        assert!(
            !asked.iter().any(|a| a == out),
            "{out}'s catalogue says every copy is out, yet it was asked: {asked:?}"
        );
    }
    // on the shelf, no answer in time, no server: asked all the same
    for kept in [h[0], h[3], h[4], h[5], h[6]] {
        assert!(
            asked.iter().any(|a| a == kept),
            "{kept} was not asked: {asked:?} (string without lookups: {string:?})"
        );
    }
    drop(silent);
}
