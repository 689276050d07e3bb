//! A data directory across restarts: a crash (SIGKILL) loses no acknowledged event, a
//! restart takes what is new in the directory and profile files, and what the server
//! refuses to start from (another consortium's state, an unreadable checkpoint), and the
//! demo's cache across format versions.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rota_proto::v1 as pb;

use crate::common::rota_bin;
use crate::server::{channel, events_applied, item_with_holders, req, rt, start, start_env};

/// Serves [`start`]'s demo from `data` until it has written a checkpoint, then stops it.
fn serve_until_checkpointed(data: &Path) {
    let s = start_env(data, &[], &[("ROTA_CHECKPOINT_EVERY", "100")]);
    rt().block_on(channel(&s.addr));
    let t = Instant::now();
    while !data.join("checkpoint.json").exists() {
        assert!(t.elapsed() < Duration::from_secs(60), "no checkpoint");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `rota serve` of a smaller demo than [`start`]'s (another consortium) from `data`.
fn small_demo(data: &Path) -> Command {
    let mut cmd = Command::new(rota_bin());
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "off",
        "--iso18626-listen",
        "off",
        "--console-listen",
        "off",
    ])
    .args(["--demo-records", "2000", "--demo-libraries", "10"])
    .arg("--data-dir")
    .arg(data)
    .env("ROTA_LOG", "error");
    cmd
}

/// A data directory keeps one consortium's state (its checkpoint restores the lender
/// directory with every change made through the API). Serving another consortium from it
/// would route that catalogue with the first one's lenders; it is refused, saying why.
#[test]
fn a_data_dir_of_another_consortium_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    serve_until_checkpointed(tmp.path());
    let out = small_demo(tmp.path()).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("holds another consortium's state: 50 of the 60 lenders"),
        "{stderr}"
    );
}

#[test]
fn an_unreadable_checkpoint_is_refused_not_taken_for_none() {
    let tmp = tempfile::tempdir().unwrap();
    // a directory where the checkpoint file should be: reading it fails, and the server
    // must not start empty (dropping every learned statistic) as if it were absent
    std::fs::create_dir(tmp.path().join("checkpoint.json")).unwrap();
    let mut child = small_demo(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if t.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the server kept running on an unreadable checkpoint");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(stderr.contains("checkpoint.json"), "{stderr}");
}

#[test]
fn a_restart_adds_lenders_new_in_the_directory_file_and_keeps_the_checkpoints_entries() {
    let tmp = tempfile::tempdir().unwrap();
    serve_until_checkpointed(tmp.path());
    // the operator edits the directory file: one lender added, one renamed
    let file = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".lenders.toml"))
        .expect("the demo's directory file");
    let text = std::fs::read_to_string(&file).unwrap();
    let renamed = text.replacen("name = \"", "name = \"Renamed ", 1);
    assert_ne!(renamed, text);
    std::fs::write(
        &file,
        renamed + "\n[[lender]]\nsymbol = \"ZZ-NEW\"\nname = \"New library\"\n",
    )
    .unwrap();
    let s = start(tmp.path(), &[]);
    rt().block_on(async {
        let mut admin = pb::admin_client::AdminClient::new(channel(&s.addr).await);
        let new = admin
            .get_lender(pb::GetLenderRequest {
                symbol: "ZZ-NEW".into(),
            })
            .await
            .expect("the lender added to the file is in force after the restart")
            .into_inner();
        assert!(new.entry_json.contains("New library"), "{}", new.entry_json);
        let all = admin
            .list_lenders(pb::ListLendersRequest {
                page_size: 1000,
                offset: 0,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            all.lenders
                .iter()
                .all(|l| !l.entry_json.contains("Renamed ")),
            "a changed entry keeps the checkpoint's version (which holds the API's changes)"
        );
    });
}

#[cfg(unix)]
#[test]
fn acknowledged_events_survive_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = rt();
    // checkpoints every 2,000 records: they are written in the background while events
    // keep arriving, and the kill lands among them
    let env = [("ROTA_CHECKPOINT_EVERY", "2000")];
    let mut s = start_env(tmp.path(), &[], &env);
    let (item, top, before, tasks) = rt.block_on(async {
        let ch = channel(&s.addr).await;
        let mut routing = pb::routing_client::RoutingClient::new(ch.clone());
        let mut catalog = pb::catalog_client::CatalogClient::new(ch.clone());
        let mut admin = pb::admin_client::AdminClient::new(ch.clone());
        let item = item_with_holders(&mut catalog, 4).await;
        let r = routing
            .route(req("k", "L00001", item))
            .await
            .unwrap()
            .into_inner();
        let top = r.lenders[0].symbol.clone();
        let cluster = r.lenders[0].cluster;
        let before = events_applied(&mut catalog).await;
        // a profile change and a "not held" answer, acknowledged
        let mut p = admin
            .get_profile(pb::GetProfileRequest {
                name: "default".into(),
            })
            .await
            .unwrap()
            .into_inner();
        p.name = "durable".into();
        admin.put_profile(p).await.unwrap();
        let mut events = pb::events_client::EventsClient::new(ch.clone());
        events
            .report_one(pb::LenderEvent {
                request_id: "k".into(),
                borrower: "L00001".into(),
                lender: top.clone(),
                kind: pb::EventKind::Unfilled as i32,
                reason: pb::TriedReason::NotHeld as i32,
                cluster,
                has_cluster: true,
                ..Default::default()
            })
            .await
            .unwrap();
        // many writers at once; the kill lands while they are in flight
        let mut tasks = Vec::new();
        for w in 0..8 {
            let mut ev = events.clone();
            tasks.push(tokio::spawn(async move {
                let mut n = 0u64;
                for k in 0..100_000 {
                    let e = pb::LenderEvent {
                        request_id: format!("w{w}-{k}"),
                        borrower: "L00004".into(),
                        lender: "L00005".into(),
                        kind: pb::EventKind::Sent as i32,
                        ..Default::default()
                    };
                    if ev.report_one(e).await.is_ok() {
                        n += 1;
                    } else {
                        break;
                    }
                }
                n
            }));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        (item, top, before, tasks)
    });
    // SIGKILL: no shutdown hook, no final checkpoint
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    let mut acked = 1u64; // the not-held event
    for t in tasks {
        acked += rt.block_on(t).unwrap();
    }
    assert!(
        acked > 10,
        "writers were acknowledged before the kill ({acked})"
    );
    drop(s);
    assert!(
        tmp.path().join("checkpoint.json").exists(),
        "checkpoints were written before the kill"
    );
    // restart on the same data directory
    let s = start_env(tmp.path(), &[], &env);
    rt.block_on(async {
        let ch = channel(&s.addr).await;
        let mut catalog = pb::catalog_client::CatalogClient::new(ch.clone());
        let mut routing = pb::routing_client::RoutingClient::new(ch.clone());
        let mut admin = pb::admin_client::AdminClient::new(ch);
        let after = events_applied(&mut catalog).await;
        assert!(
            after >= before + acked,
            "every acknowledged event replayed: {before} + {acked} > {after}"
        );
        let r = routing
            .route(req("k2", "L00001", item))
            .await
            .unwrap()
            .into_inner();
        assert!(
            r.excluded
                .iter()
                .any(|e| e.symbol == top && e.reason == "known_not_held"),
            "the acknowledged not-held survived"
        );
        admin
            .get_profile(pb::GetProfileRequest {
                name: "durable".into(),
            })
            .await
            .expect("the acknowledged profile survived");
    });
}

#[test]
fn a_cached_demo_from_an_older_format_is_regenerated() {
    let tmp = tempfile::tempdir().unwrap();
    // what an older build left behind: a snapshot header of format version 2
    let cached = tmp.path().join("demo-60x20000.snap");
    let mut old = rota_catalog::snapshot::MAGIC.to_vec();
    old.extend_from_slice(&2u32.to_le_bytes());
    old.resize(64, 0);
    std::fs::write(&cached, &old).unwrap();
    let s = start(tmp.path(), &[]);
    rt().block_on(async {
        let ch = channel(&s.addr).await;
        let mut catalog = pb::catalog_client::CatalogClient::new(ch);
        // the regenerated demo answers lookups
        item_with_holders(&mut catalog, 2).await;
    });
    let now = std::fs::read(&cached).unwrap();
    assert_eq!(
        &now[8..12],
        &rota_catalog::snapshot::FORMAT_VERSION.to_le_bytes()
    );
    assert!(rota_catalog::Catalog::open(&cached).is_ok());
}
