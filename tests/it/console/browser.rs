//! An operator's day in the console, in a real browser.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use rota_proto::v1 as pb;

use super::driver::{
    browser, chromedriver, click_to, confirm_to, fill, follow, loaded, post_from_page, shot, text,
    urlish,
};
use super::{FRONT, OPS, serve};
use crate::server::{authed, channel, req, rt};

#[test]
#[cfg_attr(
    rota_no_browser,
    ignore = "needs chromium and chromedriver: apt-get install chromium chromium-driver (CI installs them)"
)]
fn an_operator_uses_the_console_in_a_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let (s, base) = serve(tmp.path());
    // a borrowing system routes a request, and reports its first lender's answer
    let first = rt().block_on(async {
        let ch = channel(&s.addr).await;
        let mut routing = pb::routing_client::RoutingClient::new(ch.clone());
        // an item the demo's past left lenders for
        let mut item = None;
        for i in 0..100 {
            let r = routing
                .route(authed(req(&format!("probe-{i}"), "L00001", i), FRONT))
                .await
                .unwrap()
                .into_inner();
            if r.lenders.len() >= 2 {
                item = Some(i);
                break;
            }
        }
        let item = item.expect("an item with two lenders among the first hundred");
        let a = routing
            .route(authed(req("ill-2026-0042", "L00001", item), FRONT))
            .await
            .unwrap()
            .into_inner();
        let first = a.lenders[0].symbol.clone();
        let mut events = pb::events_client::EventsClient::new(ch);
        let now = chrono::Utc::now().timestamp();
        for (kind, at) in [
            (pb::EventKind::Sent, now - 60),
            (pb::EventKind::Loaned, now),
        ] {
            events
                .report_one(authed(
                    pb::LenderEvent {
                        at,
                        request_id: "ill-2026-0042".into(),
                        borrower: "L00001".into(),
                        lender: first.clone(),
                        cluster: a.lenders[0].cluster,
                        has_cluster: true,
                        service_type: pb::ServiceType::Loan as i32,
                        kind: kind as i32,
                        ..Default::default()
                    },
                    FRONT,
                ))
                .await
                .unwrap();
        }
        first
    });
    let d = chromedriver();
    rt().block_on(async {
        let c = browser(&d, &tmp.path().join("chromium")).await;
        let r = run(&c, &base, &first).await;
        c.close().await.unwrap();
        r
    });
}

async fn run(c: &Client, base: &str, first: &str) {
    log_in(c, base).await;
    lenders(c, base).await;
    a_request(c, base).await;
    activity(c, base).await;
    re_route(c, base, first).await;
    profiles(c, base).await;
    log_out(c, base).await;
}

/// The login: a frontend token refused, an ops token let in.
async fn log_in(c: &Client, base: &str) {
    // a page asked for before logging in leads to the login, and back after it
    c.goto(&format!("{base}/lenders?q=L0000")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/login"));
    shot(c, "login").await;
    // a frontend token is refused, saying why
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(FRONT)
        .await
        .unwrap();
    click_to(c, Locator::Id("login")).await;
    let e = text(c, "#error").await;
    assert!(e.contains("frontend token"), "{e}");
    // an ops token comes in, on the page it asked for
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(OPS)
        .await
        .unwrap();
    click_to(c, Locator::Id("login")).await;
    let url = c.current_url().await.unwrap();
    assert_eq!(url.path(), "/lenders");
    assert_eq!(url.query(), Some("q=L0000"));
    assert_eq!(text(c, "#who").await, "ops-anna");
    assert_eq!(text(c, "#count").await, "10 lenders");
}

/// The lenders: sorted, found, one lender's record, its entry edited.
async fn lenders(c: &Client, base: &str) {
    // the whole table, sorted by load, then a lender found by name
    c.goto(&format!("{base}/lenders")).await.unwrap();
    assert_eq!(text(c, "#count").await, "60 lenders");
    click_to(c, Locator::LinkText("Open")).await;
    let opens: Vec<u32> = {
        let mut v = Vec::new();
        for cell in c
            .find_all(Locator::Css("#lenders tbody td:nth-child(3)"))
            .await
            .unwrap()
        {
            let t = cell.text().await.unwrap();
            v.push(t.split(' ').next().unwrap().parse().unwrap());
        }
        v
    };
    assert_eq!(opens.len(), 50, "a page of 50");
    assert!(
        opens.windows(2).all(|w| w[0] >= w[1]),
        "busiest first: {opens:?}"
    );
    shot(c, "lenders").await;
    let q = c.find(Locator::Id("q")).await.unwrap();
    q.clear().await.unwrap();
    q.send_keys("L00005").await.unwrap();
    click_to(c, Locator::Id("filter")).await;
    assert_eq!(text(c, "#count").await, "1 lenders");
    click_to(c, Locator::LinkText("L00005")).await;
    assert!(text(c, "#lender").await.starts_with("L00005"));
    assert!(
        !c.find_all(Locator::Css("#partners tbody tr"))
            .await
            .unwrap()
            .is_empty(),
        "the demo's history has traffic"
    );
    // its record: why it said no, how it did at each position in the strings
    assert!(text(c, "#record").await.contains("requests sent to it"));
    let reasons = text(c, "#reasons").await;
    assert!(
        reasons.contains("unfilled:") || reasons.contains("expired"),
        "{reasons}"
    );
    let positions = text(c, "#positions").await;
    assert!(positions.lines().count() >= 2, "{positions}");
    shot(c, "lender").await;
    // its directory entry edited: a broken one is refused, a good one checked and saved
    let area = c.find(Locator::Id("text")).await.unwrap();
    let entry = area.prop("value").await.unwrap().unwrap();
    let cap = entry
        .lines()
        .find(|l| l.starts_with("open_requests = "))
        .unwrap_or_else(|| panic!("no capacity in\n{entry}"))
        .to_owned();
    fill(c, "text", &entry.replace("lending = true", "lending = 3")).await;
    click_to(c, Locator::Id("preview")).await;
    assert!(text(c, "#error").await.contains("lending"));
    fill(c, "text", &entry.replace(&cap, "open_requests = 7")).await;
    fill(c, "comment", "short-staffed in December").await;
    click_to(c, Locator::Id("preview")).await;
    let changes = text(c, "#changes").await;
    assert!(
        changes.contains("capacity.open_requests") && changes.contains('7'),
        "{changes}"
    );
    fill(c, "comment", "short-staffed in December").await;
    confirm_to(c, Locator::Id("save")).await;
    assert_eq!(text(c, "#saved").await, "Saved as version 1.");
    assert!(
        text(c, "#versions")
            .await
            .contains("short-staffed in December")
    );
    c.execute("document.getElementById('edit').scrollIntoView();", vec![])
        .await
        .unwrap();
    shot(c, "lender-edit").await;
    c.goto(&format!("{base}/api/lenders/L00005")).await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&text(c, "body").await).unwrap();
    assert_eq!(v["entry"]["capacity"]["open_requests"], 7);
    assert_eq!(
        v["row"]["capacity"], 7,
        "the table reads the entry in force"
    );
    c.goto(&format!("{base}/api/lenders/L00005/versions"))
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text(c, "body").await).unwrap();
    assert_eq!(v[0]["version"], 1);
    assert_eq!(v[0]["who"], "ops-anna");
}

/// A request's story.
async fn a_request(c: &Client, base: &str) {
    // a request found by its id: its citation, match, string and events
    c.goto(&format!("{base}/requests")).await.unwrap();
    let q = c.find(Locator::Id("q")).await.unwrap();
    q.send_keys("ill-2026-0042").await.unwrap();
    click_to(c, Locator::Id("find")).await;
    assert_eq!(
        c.current_url().await.unwrap().path(),
        "/requests/L00001/ill-2026-0042",
        "an exact id goes straight to its story"
    );
    assert!(text(c, "#request").await.starts_with("ill-2026-0042"));
    let string = text(c, "table.string").await;
    assert!(
        string.contains("p_fill") && string.contains("holds it"),
        "{string}"
    );
    assert!(text(c, "table.matches").await.contains("isbn"));
    let events = text(c, "#events").await;
    assert!(
        events.contains("sent") && events.contains("loaned"),
        "{events}"
    );
    shot(c, "request").await;
}

/// Activity, its CSV, by format.
async fn activity(c: &Client, base: &str) {
    // this month's activity: the demo's history and the request just filled
    c.goto(&format!("{base}/activity")).await.unwrap();
    // the page's script comes back with the browser's offset from UTC: wait for that page
    let until = Instant::now() + Duration::from_secs(20);
    while !c
        .current_url()
        .await
        .unwrap()
        .query()
        .unwrap_or("")
        .contains("tz=")
    {
        assert!(
            Instant::now() < until,
            "the activity page never asked with tz"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    c.execute("window.__before = true;", vec![])
        .await
        .unwrap_or_default();
    c.refresh().await.unwrap();
    loaded(c).await;
    let tz = c
        .find(Locator::Css("input[name=tz]"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(
        tz == "-300" || tz == "-240",
        "the browser's offset from UTC, New York: {tz}"
    );
    assert!(
        c.current_url()
            .await
            .unwrap()
            .query()
            .unwrap_or("")
            .contains(&format!("tz={tz}")),
        "the page came back with the operator's offset"
    );
    let requests: u64 = text(c, "#totals .card .big").await.parse().unwrap();
    assert!(requests > 100, "{requests}");
    assert!(
        !c.find_all(Locator::Css("#days tbody tr"))
            .await
            .unwrap()
            .is_empty()
    );
    c.find(Locator::Id("chart")).await.unwrap();
    shot(c, "activity").await;
    // the CSV a monthly report takes, fetched as the link would
    let csv = follow(c, "csv").await;
    let csv = csv.as_str();
    assert!(
        csv.starts_with("day,requests,filled,fill_rate,p50_hours,p90_hours,lenders_per_filled\n"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .last()
            .unwrap()
            .starts_with(&format!("all,{requests},")),
        "{csv}"
    );
    // by format: the books among them
    c.goto(&format!("{base}/activity?tz={tz}&format=book"))
        .await
        .unwrap();
    let books: u64 = text(c, "#totals .card .big").await.parse().unwrap();
    assert!(books > 0 && books <= requests, "{books} of {requests}");
}

/// A re-route file uploaded, followed and downloaded.
async fn re_route(c: &Client, base: &str, first: &str) {
    // a file of unfilled requests re-routed: progress, then the new strings to download
    let file = std::env::temp_dir().join(format!("unfilled-{}.jsonl", std::process::id()));
    let mut lines = String::new();
    for i in 0..40u64 {
        lines.push_str(&format!(
            "{{\"request_id\":\"u{i}\",\"borrower\":\"L00002\",\"citation\":{{\"isbn\":\"{}\"}},\"tried\":[{{\"lender\":\"{first}\",\"answer\":\"not_held\"}}]}}\n",
            rota_catalog::generate::isbn_of(i),
        ));
    }
    lines.push_str("{\"borrower\": \"L00002\", \"citation\": 7}\n");
    std::fs::write(&file, &lines).unwrap();
    c.goto(&format!("{base}/reroute")).await.unwrap();
    c.find(Locator::Id("file"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    click_to(c, Locator::Id("upload")).await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/reroute/")
    );
    let until = Instant::now() + Duration::from_secs(60);
    while c.find(Locator::Id("finished")).await.is_err() {
        assert!(Instant::now() < until, "the re-route never finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(text(c, "#done").await, "41 of 41");
    assert_eq!(text(c, "#errors").await, "1", "the unreadable line");
    shot(c, "reroute").await;
    let got: Vec<serde_json::Value> = follow(c, "download")
        .await
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), 41);
    assert_eq!(got[0]["line"], 41, "the unreadable line, by its number");
    assert!(
        got[0]["error"].as_str().unwrap().contains("Citation"),
        "{}",
        got[0]
    );
    let strings: Vec<&serde_json::Value> = got[1..]
        .iter()
        .filter(|r| r["lenders"].as_array().is_some_and(|l| !l.is_empty()))
        .collect();
    assert!(strings.len() > 10, "{got:?}");
    assert!(
        got[1..]
            .iter()
            .all(|r| !r["lenders"].as_array().unwrap().iter().any(|l| l == first)),
        "the lender already tried is left out"
    );
    let _ = std::fs::remove_file(&file);
    c.goto(&format!("{base}/api/reroute")).await.unwrap();
    let jobs: serde_json::Value = serde_json::from_str(&text(c, "body").await).unwrap();
    assert_eq!(jobs[0]["total"], 41);
    assert_eq!(jobs[0]["finished"], true);
}

/// A profile edited, tried, refused without CSRF, saved, rolled back.
async fn profiles(c: &Client, base: &str) {
    // a profile edited: checked and compared, then saved
    c.goto(&format!("{base}/profiles")).await.unwrap();
    click_to(c, Locator::LinkText("default")).await;
    let area = c.find(Locator::Id("text")).await.unwrap();
    let toml = area.prop("value").await.unwrap().unwrap();
    let edited = toml.replace("cost = 0.2\n", "cost = 0.35\n");
    assert_ne!(
        toml, edited,
        "the default profile has an adjustments.cost of 0.2:\n{toml}"
    );
    // a broken edit says which field
    fill(c, "text", &toml.replace("cost = 0.2\n", "cost = -3.0\n")).await;
    click_to(c, Locator::Id("preview")).await;
    let e = text(c, "#error").await;
    assert!(e.contains("adjustments.cost"), "{e}");
    fill(c, "text", &edited).await;
    click_to(c, Locator::Id("preview")).await;
    let changes = text(c, "#changes").await;
    assert!(
        changes.contains("adjustments.cost") && changes.contains("0.35"),
        "{changes}"
    );
    shot(c, "profile").await;
    // tried on the last 30 days of real traffic and on the simulator, before saving
    click_to(c, Locator::Id("compare")).await;
    let replay = text(c, "#replay").await;
    assert!(replay.contains("first lender really filled"), "{replay}");
    let simulated = text(c, "#simulated").await;
    for row in ["in force", "this edit", "outcome oracle"] {
        assert!(simulated.contains(row), "{simulated}");
    }
    let requests: u64 = c
        .execute(
            "return Number(document.querySelector('#comparison h3 small').textContent.match(/: (\\d+) requests/)[1]);",
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    assert!(requests > 100, "the demo's past is replayed: {requests}");
    // the edit is still there to save
    let area = c.find(Locator::Id("text")).await.unwrap();
    assert_eq!(area.prop("value").await.unwrap().unwrap(), edited);
    shot(c, "profile-compare").await;
    // a change without the page's CSRF token is refused (a page elsewhere would send this)
    assert_eq!(
        post_from_page(
            c,
            "/profiles/default",
            &format!("version=0&text={}", urlish(&edited))
        )
        .await,
        403
    );
    confirm_to(c, Locator::Id("save")).await;
    assert_eq!(text(c, "#saved").await, "Saved as version 1.");
    // the profile in force is the edit
    c.goto(&format!("{base}/api/profiles/default"))
        .await
        .unwrap();
    let body = text(c, "body").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["profile"]["adjustments"]["cost"], 0.35);
    assert_eq!(v["version"], 1);
    // a second edit, then back to the first: the history says who, when and why
    c.goto(&format!("{base}/profiles/default")).await.unwrap();
    fill(
        c,
        "text",
        &edited.replace("fairness = 0.15\n", "fairness = 0.4\n"),
    )
    .await;
    fill(c, "comment", "spread the load more").await;
    confirm_to(c, Locator::Id("save")).await;
    assert_eq!(text(c, "#saved").await, "Saved as version 2.");
    let history = text(c, "#versions").await;
    assert!(
        history.contains("spread the load more") && history.contains("ops-anna"),
        "{history}"
    );
    confirm_to(c, Locator::Id("rollback-1")).await;
    assert_eq!(text(c, "#saved").await, "Saved as version 3.");
    assert!(
        text(c, "#versions")
            .await
            .contains("roll back to version 1")
    );
    shot(c, "profile-history").await;
    c.goto(&format!("{base}/api/profiles/default"))
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text(c, "body").await).unwrap();
    assert_eq!(
        v["profile"]["adjustments"]["fairness"], 0.15,
        "version 1's again"
    );
    assert_eq!(v["profile"]["adjustments"]["cost"], 0.35);
    assert_eq!(v["version"], 3);
}

/// Logged out.
async fn log_out(c: &Client, base: &str) {
    // logged out, the pages are closed again
    c.goto(&format!("{base}/lenders")).await.unwrap();
    click_to(c, Locator::Css("form.who button")).await;
    c.goto(&format!("{base}/profiles")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/login"));
}
