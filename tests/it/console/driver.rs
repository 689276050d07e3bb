//! Driving Debian's Chromium through ChromeDriver (WebDriver): the browser, and the steps
//! every page test takes (wait for a page, follow a link, take a screenshot).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

/// ChromeDriver on a free port, killed on drop.
pub(super) struct Driver(Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(super) fn chromedriver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // an operator five hours west of UTC (in December), so that days are theirs, not UTC's
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .env("TZ", "America/New_York")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver runs (apt-get install chromium-driver)");
    let until = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < until,
            "chromedriver never listened on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver(child, port)
}

pub(super) async fn browser(d: &Driver, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    // headless, and none of Chromium's own calls home (the machine has no internet)
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--window-size=1400,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", d.1))
        .await
        .expect("a browser session")
}

pub(super) async fn text(c: &Client, css: &str) -> String {
    match c.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap(),
        Err(e) => panic!(
            "{css}: {e}\non {}:\n{}",
            c.current_url().await.unwrap(),
            c.source().await.unwrap()
        ),
    }
}

/// Replaces what a text field (by id) holds.
pub(super) async fn fill(c: &Client, id: &str, value: &str) {
    let e = c.find(Locator::Id(id)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

/// Clicks something that loads a new page, and waits for that page: WebDriver's click
/// returns once the click is dispatched, before a form's answer has arrived.
pub(super) async fn click_to(c: &Client, what: Locator<'_>) {
    c.execute("window.__before = true;", vec![]).await.unwrap();
    c.find(what).await.unwrap().click().await.unwrap();
    loaded(c).await;
}

/// Clicks a button that asks "are you sure?", says yes, and waits for the page it loads.
pub(super) async fn confirm_to(c: &Client, what: Locator<'_>) {
    c.execute("window.__before = true;", vec![]).await.unwrap();
    c.find(what).await.unwrap().click().await.unwrap();
    c.accept_alert().await.unwrap();
    loaded(c).await;
}

/// Waits until the page that was marked is gone and the new one is complete.
pub(super) async fn loaded(c: &Client) {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let v = c
            .execute(
                "return window.__before === undefined && document.readyState === 'complete';",
                vec![],
            )
            .await;
        if matches!(v, Ok(serde_json::Value::Bool(true))) {
            return;
        }
        assert!(Instant::now() < until, "no new page after 20 s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// What the link with this id leads to, fetched as the page would (with its session).
pub(super) async fn follow(c: &Client, id: &str) -> String {
    let href = c
        .find(Locator::Id(id))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("#{id} has no href"));
    let v = c
        .execute_async(
            "const [p, done] = arguments; fetch(p).then(r => r.text()).then(done, e => done(String(e)));",
            vec![href.into()],
        )
        .await
        .unwrap();
    v.as_str()
        .unwrap_or_else(|| panic!("fetch failed: {v}"))
        .to_owned()
}

pub(super) async fn shot(c: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("CONSOLE_SHOTS_DIR") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("{name}.png")),
            c.screenshot().await.unwrap(),
        )
        .unwrap();
    }
}

/// What `fetch` from the page answers: the status, for a change sent as a browser would
/// send a form (the session cookie goes with it).
pub(super) async fn post_from_page(c: &Client, path: &str, form: &str) -> u16 {
    let v = c
        .execute_async(
            "const [path, body, done] = arguments;
             fetch(path, {method: 'POST', body: new URLSearchParams(body), redirect: 'manual'})
               .then(r => done(r.status), e => done(String(e)));",
            vec![path.into(), form.into()],
        )
        .await
        .unwrap();
    v.as_u64().unwrap_or_else(|| panic!("fetch failed: {v}")) as u16
}

/// Enough of `application/x-www-form-urlencoded` for a TOML profile.
pub(super) fn urlish(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'_' | b'-' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
