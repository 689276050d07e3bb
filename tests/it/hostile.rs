//! Hostile and broken input against the real server: a table of inputs across every RPC,
//! each with the status code it must get, a short error message (a bad value is quoted as
//! a prefix, never echoed whole), and the server still serving after all of them.

use futures::StreamExt;
use rota_proto::v1 as pb;
use tonic::transport::Channel;
use tonic::{Code, Status};

use crate::server::{channel, isbn, rt, start};

/// Longest error message accepted: the field, the problem and a short quote.
const MAX_MESSAGE: usize = 400;

/// One call of one RPC.
enum Call {
    Route(pb::RouteRequest),
    RouteStream(pb::RouteRequest),
    /// The code is the first failed item's (`RouteError.code`) or the stream's.
    RouteBatch(Vec<pb::RouteRequest>),
    ReportOne(pb::LenderEvent),
    Report(Vec<pb::LenderEvent>),
    Lookup(pb::LookupRequest),
    Upsert(Vec<pb::HoldingChange>),
    Withdraw(Vec<pb::HoldingChange>),
    Reload(pb::ReloadRequest),
    GetProfile(pb::GetProfileRequest),
    PutProfile(pb::WeightProfile),
    GetLender(pb::GetLenderRequest),
    PutLender(pb::LenderEntry),
    Simulate(pb::SimulateRequest),
}

struct Clients {
    routing: pb::routing_client::RoutingClient<Channel>,
    events: pb::events_client::EventsClient<Channel>,
    catalog: pb::catalog_client::CatalogClient<Channel>,
    admin: pb::admin_client::AdminClient<Channel>,
}

fn code_of(name: &str) -> Code {
    let all = [
        Code::Ok,
        Code::Cancelled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];
    // RouteError.code is the canonical name: INVALID_ARGUMENT for Code::InvalidArgument
    all.into_iter()
        .find(|c| {
            format!("{c:?}")
                .chars()
                .flat_map(|ch| {
                    let up = ch.is_ascii_uppercase();
                    [
                        if up { Some('_') } else { None },
                        Some(ch.to_ascii_uppercase()),
                    ]
                })
                .flatten()
                .collect::<String>()
                .trim_start_matches('_')
                == name
        })
        .unwrap_or_else(|| panic!("RouteError.code {name:?} is not a gRPC code name"))
}

impl Clients {
    /// The call's outcome: Ok, or the status it was refused with.
    async fn run(&mut self, call: Call) -> Result<(), Status> {
        match call {
            Call::Route(r) => self.routing.route(r).await.map(drop),
            Call::RouteStream(r) => {
                let mut s = self.routing.route_stream(r).await?.into_inner();
                while let Some(x) = s.next().await {
                    x?;
                }
                Ok(())
            }
            Call::RouteBatch(rs) => {
                let mut s = self
                    .routing
                    .route_batch(futures::stream::iter(rs))
                    .await?
                    .into_inner();
                while let Some(x) = s.next().await {
                    if let Some(e) = x?.error {
                        return Err(Status::new(code_of(&e.code), e.message));
                    }
                }
                Ok(())
            }
            Call::ReportOne(e) => self.events.report_one(e).await.map(drop),
            Call::Report(es) => self
                .events
                .report(futures::stream::iter(es))
                .await
                .map(drop),
            Call::Lookup(l) => self.catalog.lookup(l).await.map(drop),
            Call::Upsert(h) => self
                .catalog
                .upsert_holdings(futures::stream::iter(h))
                .await
                .map(drop),
            Call::Withdraw(h) => self
                .catalog
                .withdraw_holdings(futures::stream::iter(h))
                .await
                .map(drop),
            Call::Reload(r) => self.catalog.reload(r).await.map(drop),
            Call::GetProfile(g) => self.admin.get_profile(g).await.map(drop),
            Call::PutProfile(p) => self.admin.put_profile(p).await.map(drop),
            Call::GetLender(g) => self.admin.get_lender(g).await.map(drop),
            Call::PutLender(l) => self.admin.put_lender(l).await.map(drop),
            Call::Simulate(s) => self.admin.simulate(s).await.map(drop),
        }
    }
}

/// A good routing request for the demo consortium's item `i`.
pub(crate) fn route(i: u64) -> pb::RouteRequest {
    pb::RouteRequest {
        request_id: format!("h{i}"),
        borrower: "L00001".into(),
        citation: Some(pb::Citation {
            isbn: isbn(i),
            ..Default::default()
        }),
        max_lenders: 5,
        ..Default::default()
    }
}

fn with_citation(c: pb::Citation) -> pb::RouteRequest {
    pb::RouteRequest {
        citation: Some(c),
        ..route(1)
    }
}

fn event() -> pb::LenderEvent {
    pb::LenderEvent {
        request_id: "hx".into(),
        borrower: "L00001".into(),
        lender: "L00002".into(),
        kind: pb::EventKind::Sent as i32,
        ..Default::default()
    }
}

fn tried(lender: &str, reason: i32, answered_at: i64) -> pb::TriedLender {
    pb::TriedLender {
        lender: lender.into(),
        reason,
        answered_at,
    }
}

fn change(symbol: &str) -> pb::HoldingChange {
    pb::HoldingChange {
        symbol: symbol.into(),
        citation: Some(pb::Citation {
            isbn: isbn(3),
            ..Default::default()
        }),
        copies: 1,
        lendable: true,
        ..Default::default()
    }
}

fn lookup(c: pb::Citation) -> pb::LookupRequest {
    pb::LookupRequest {
        citation: Some(c),
        limit: 5,
        ..Default::default()
    }
}

fn isbn_cit(s: &str) -> pb::Citation {
    pb::Citation {
        isbn: s.into(),
        ..Default::default()
    }
}

/// The table: what is sent, the code it must get (one row per line: a table to read).
#[rustfmt::skip]
fn table(
    profile: &pb::WeightProfile,
    lender: &serde_json::Value,
) -> Vec<(&'static str, Call, Code)> {
    use Call::*;
    use Code::{
        Aborted, FailedPrecondition, InvalidArgument as Invalid, NotFound,
        ResourceExhausted as Exhausted,
    };
    let big = "x".repeat(10_000);
    let huge = "x".repeat(5 << 20);
    let nul = "L00\u{0}01".to_string();
    let r = route;
    let lender_with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = lender.clone();
        f(&mut v);
        PutLender(pb::LenderEntry {
            symbol: "L00004".into(),
            entry_json: v.to_string(),
            version: 0,
        })
    };
    let profile_with = |f: &dyn Fn(&mut pb::WeightProfile)| {
        let mut p = profile.clone();
        p.name = "hostile".into();
        p.version = 0;
        f(&mut p);
        PutProfile(p)
    };
    let sim = |toml: &str| {
        Simulate(pb::SimulateRequest {
            scenario_toml: toml.into(),
            ..Default::default()
        })
    };
    vec![
        // ---- Route: every field
        ("route: no citation", Route(pb::RouteRequest { citation: None, ..r(1) }), Invalid),
        ("route: empty citation", Route(with_citation(pb::Citation::default())), Invalid),
        ("route: no borrower", Route(pb::RouteRequest { borrower: String::new(), ..r(1) }), Invalid),
        ("route: unknown borrower", Route(pb::RouteRequest { borrower: "NOBODY".into(), ..r(1) }), Invalid),
        ("route: NUL in borrower", Route(pb::RouteRequest { borrower: nul.clone(), ..r(1) }), Invalid),
        ("route: 10 kB borrower", Route(pb::RouteRequest { borrower: big.clone(), ..r(1) }), Invalid),
        ("route: 1 MB request_id", Route(pb::RouteRequest { request_id: "r".repeat(1 << 20), ..r(1) }), Invalid),
        ("route: newline in request_id", Route(pb::RouteRequest { request_id: "a\nb".into(), ..r(1) }), Invalid),
        ("route: isbn not an isbn", Route(with_citation(isbn_cit("not-an-isbn"))), Invalid),
        ("route: isbn 10 kB", Route(with_citation(isbn_cit(&big))), Invalid),
        ("route: issn not an issn", Route(with_citation(pb::Citation { issn: "12-34".into(), ..Default::default() })), Invalid),
        ("route: oclc not a number", Route(with_citation(pb::Citation { oclc_number: "(OCoLC)abc".into(), ..Default::default() })), Invalid),
        ("route: lccn garbage", Route(with_citation(pb::Citation { lccn: "%%%".into(), ..Default::default() })), Invalid),
        ("route: title 10 kB", Route(with_citation(pb::Citation { title: big.clone(), ..Default::default() })), Invalid),
        ("route: title with escape", Route(with_citation(pb::Citation { title: "a\u{1b}[2J".into(), ..Default::default() })), Invalid),
        ("route: author 10 kB", Route(with_citation(pb::Citation { title: "chemistry".into(), author: big.clone(), ..Default::default() })), Invalid),
        ("route: year u32::MAX", Route(with_citation(pb::Citation { title: "chemistry".into(), year: u32::MAX, ..Default::default() })), Invalid),
        ("route: year 65535", Route(with_citation(pb::Citation { title: "chemistry".into(), year: 65_535, ..Default::default() })), Invalid),
        ("route: year 12", Route(with_citation(pb::Citation { title: "chemistry".into(), year: 12, ..Default::default() })), Invalid),
        ("route: language 10 kB", Route(with_citation(pb::Citation { isbn: isbn(1), language: big.clone(), ..Default::default() })), Invalid),
        ("route: volume 10 kB", Route(with_citation(pb::Citation { isbn: isbn(1), volume: big.clone(), ..Default::default() })), Invalid),
        ("route: pages with NUL", Route(with_citation(pb::Citation { isbn: isbn(1), pages: "1\u{0}2".into(), ..Default::default() })), Invalid),
        ("route: max_lenders u32::MAX", Route(pb::RouteRequest { max_lenders: u32::MAX, ..r(1) }), Invalid),
        ("route: max_cost NaN", Route(pb::RouteRequest { max_cost: f64::NAN, has_max_cost: true, ..r(1) }), Invalid),
        ("route: max_cost negative", Route(pb::RouteRequest { max_cost: -1.0, has_max_cost: true, ..r(1) }), Invalid),
        ("route: max_cost infinite", Route(pb::RouteRequest { max_cost: f64::INFINITY, has_max_cost: true, ..r(1) }), Invalid),
        ("route: max_cost 1e300", Route(pb::RouteRequest { max_cost: 1e300, has_max_cost: true, ..r(1) }), Invalid),
        ("route: currency XYZ", Route(pb::RouteRequest { max_cost: 10.0, has_max_cost: true, currency: "XYZ".into(), ..r(1) }), Invalid),
        ("route: currency 10 kB", Route(pb::RouteRequest { max_cost: 10.0, has_max_cost: true, currency: big.clone(), ..r(1) }), Invalid),
        ("route: need_before i64::MIN", Route(pb::RouteRequest { need_before: i64::MIN, ..r(1) }), Invalid),
        ("route: need_before i64::MAX", Route(pb::RouteRequest { need_before: i64::MAX, ..r(1) }), Invalid),
        ("route: 201 tried lenders", Route(pb::RouteRequest { tried: (0..201).map(|k| tried(&format!("L{k:05}"), 0, 0)).collect(), ..r(1) }), Invalid),
        ("route: tried lender NUL", Route(pb::RouteRequest { tried: vec![tried(&nul, 0, 0)], ..r(1) }), Invalid),
        ("route: tried lender empty", Route(pb::RouteRequest { tried: vec![tried("", 0, 0)], ..r(1) }), Invalid),
        ("route: tried reason 999", Route(pb::RouteRequest { tried: vec![tried("L00002", 999, 0)], ..r(1) }), Invalid),
        ("route: tried answered_at i64::MIN", Route(pb::RouteRequest { tried: vec![tried("L00002", 7, i64::MIN)], ..r(1) }), Invalid),
        ("route: service_type 99", Route(pb::RouteRequest { service_type: 99, ..r(1) }), Invalid),
        ("route: format -1", Route(pb::RouteRequest { format: -1, ..r(1) }), Invalid),
        ("route: unknown profile", Route(pb::RouteRequest { profile: "nope".into(), ..r(1) }), Invalid),
        ("route: profile 10 kB", Route(pb::RouteRequest { profile: big.clone(), ..r(1) }), Invalid),
        ("route: min_confidence NaN", Route(pb::RouteRequest { min_confidence: Some(f32::NAN), ..r(1) }), Invalid),
        ("route: min_confidence 2", Route(pb::RouteRequest { min_confidence: Some(2.0), ..r(1) }), Invalid),
        ("route: min_confidence -1", Route(pb::RouteRequest { min_confidence: Some(-1.0), ..r(1) }), Invalid),
        ("route: 5 MB title", Route(with_citation(pb::Citation { title: huge.clone(), ..Default::default() })), Exhausted),
        // ---- RouteStream
        ("route_stream: no citation", RouteStream(pb::RouteRequest { citation: None, ..r(1) }), Invalid),
        ("route_stream: max_cost NaN", RouteStream(pb::RouteRequest { max_cost: f64::NAN, has_max_cost: true, ..r(1) }), Invalid),
        ("route_stream: unknown borrower", RouteStream(pb::RouteRequest { borrower: "NOBODY".into(), ..r(1) }), Invalid),
        ("route_stream: 5 MB title", RouteStream(with_citation(pb::Citation { title: huge.clone(), ..Default::default() })), Exhausted),
        // ---- RouteBatch: a bad item is answered in place, the stream goes on
        ("route_batch: bad isbn item", RouteBatch(vec![r(1), with_citation(isbn_cit("123"))]), Invalid),
        ("route_batch: duplicate id", RouteBatch(vec![r(1), r(1)]), Invalid),
        ("route_batch: NUL request_id", RouteBatch(vec![pb::RouteRequest { request_id: "a\u{0}".into(), ..r(2) }]), Invalid),
        ("route_batch: NaN max_cost item", RouteBatch(vec![pb::RouteRequest { max_cost: f64::NAN, has_max_cost: true, ..r(2) }]), Invalid),
        ("route_batch: 5 MB item", RouteBatch(vec![r(1), with_citation(pb::Citation { title: huge.clone(), ..Default::default() })]), Exhausted),
        // ---- ReportOne
        ("report_one: kind unspecified", ReportOne(pb::LenderEvent { kind: 0, ..event() }), Invalid),
        ("report_one: kind 77", ReportOne(pb::LenderEvent { kind: 77, ..event() }), Invalid),
        ("report_one: unknown lender", ReportOne(pb::LenderEvent { lender: "GHOST".into(), ..event() }), NotFound),
        ("report_one: unknown borrower", ReportOne(pb::LenderEvent { borrower: "GHOST".into(), ..event() }), NotFound),
        ("report_one: lender NUL", ReportOne(pb::LenderEvent { lender: nul.clone(), ..event() }), Invalid),
        ("report_one: lender 10 kB", ReportOne(pb::LenderEvent { lender: big.clone(), ..event() }), Invalid),
        ("report_one: empty request_id", ReportOne(pb::LenderEvent { request_id: String::new(), ..event() }), Invalid),
        ("report_one: 1 MB request_id", ReportOne(pb::LenderEvent { request_id: "r".repeat(1 << 20), ..event() }), Invalid),
        ("report_one: at i64::MAX", ReportOne(pb::LenderEvent { at: i64::MAX, ..event() }), Invalid),
        ("report_one: at -1", ReportOne(pb::LenderEvent { at: -1, ..event() }), Invalid),
        ("report_one: at 1970", ReportOne(pb::LenderEvent { at: 86_400, ..event() }), Invalid),
        ("report_one: cluster u32::MAX", ReportOne(pb::LenderEvent { cluster: u32::MAX, has_cluster: true, ..event() }), Invalid),
        ("report_one: reason 999", ReportOne(pb::LenderEvent { kind: pb::EventKind::Unfilled as i32, reason: 999, ..event() }), Invalid),
        ("report_one: unfilled, no reason", ReportOne(pb::LenderEvent { kind: pb::EventKind::Unfilled as i32, reason: 0, ..event() }), Invalid),
        ("report_one: service_type 42", ReportOne(pb::LenderEvent { service_type: 42, ..event() }), Invalid),
        // ---- Report: refused at the bad event
        ("report: second event bad", Report(vec![event(), pb::LenderEvent { kind: 77, ..event() }]), Invalid),
        ("report: 5 MB event", Report(vec![pb::LenderEvent { request_id: huge.clone(), ..event() }]), Exhausted),
        // ---- Lookup
        ("lookup: no citation", Lookup(pb::LookupRequest { citation: None, limit: 5, ..Default::default() }), Invalid),
        ("lookup: empty citation", Lookup(lookup(pb::Citation::default())), Invalid),
        ("lookup: limit 101", Lookup(pb::LookupRequest { limit: 101, ..lookup(isbn_cit(&isbn(1))) }), Invalid),
        ("lookup: limit u32::MAX", Lookup(pb::LookupRequest { limit: u32::MAX, ..lookup(isbn_cit(&isbn(1))) }), Invalid),
        ("lookup: min_confidence NaN", Lookup(pb::LookupRequest { min_confidence: Some(f32::NAN), ..lookup(isbn_cit(&isbn(1))) }), Invalid),
        ("lookup: isbn of letters", Lookup(lookup(isbn_cit("ISBNISBNISBN"))), Invalid),
        ("lookup: isbn of 40 digits", Lookup(lookup(isbn_cit(&"9".repeat(40)))), Invalid),
        ("lookup: title with NUL", Lookup(lookup(pb::Citation { title: "a\u{0}b".into(), ..Default::default() })), Invalid),
        ("lookup: title 10 kB", Lookup(lookup(pb::Citation { title: big.clone(), ..Default::default() })), Invalid),
        ("lookup: year 3000", Lookup(lookup(pb::Citation { title: "chemistry".into(), year: 3000, ..Default::default() })), Invalid),
        ("lookup: 5 MB author", Lookup(lookup(pb::Citation { author: huge.clone(), ..Default::default() })), Exhausted),
        // ---- UpsertHoldings / WithdrawHoldings
        ("upsert: empty symbol", Upsert(vec![change("")]), Invalid),
        ("upsert: NUL symbol", Upsert(vec![change(&nul)]), Invalid),
        ("upsert: 10 kB symbol", Upsert(vec![change(&big)]), Invalid),
        ("upsert: symbol with space", Upsert(vec![change("L 1")]), Invalid),
        ("upsert: copies 10001", Upsert(vec![pb::HoldingChange { copies: 10_001, ..change("L00001") }]), Invalid),
        ("upsert: cluster u32::MAX", Upsert(vec![pb::HoldingChange { cluster: u32::MAX, has_cluster: true, ..change("L00001") }]), NotFound),
        ("upsert: isbn nobody has", Upsert(vec![pb::HoldingChange { citation: Some(isbn_cit("9780306406157")), ..change("L00001") }]), NotFound),
        ("upsert: isbn bad check digit", Upsert(vec![pb::HoldingChange { citation: Some(isbn_cit("9780306406158")), ..change("L00001") }]), NotFound),
        ("upsert: bad isbn", Upsert(vec![pb::HoldingChange { citation: Some(isbn_cit("12")), ..change("L00001") }]), Invalid),
        ("upsert: no identifier", Upsert(vec![pb::HoldingChange { citation: Some(pb::Citation { title: "chemistry".into(), ..Default::default() }), ..change("L00001") }]), Invalid),
        ("upsert: 5 MB change", Upsert(vec![pb::HoldingChange { symbol: huge.clone(), ..change("L00001") }]), Exhausted),
        ("withdraw: unknown library", Withdraw(vec![change("NEVERSEEN")]), NotFound),
        ("withdraw: NUL symbol", Withdraw(vec![change(&nul)]), Invalid),
        // ---- Reload
        ("reload: missing file", Reload(pb::ReloadRequest { path: "/nonexistent.snap".into(), }), FailedPrecondition),
        ("reload: not a snapshot", Reload(pb::ReloadRequest { path: "/etc/hostname".into(), }), FailedPrecondition),
        ("reload: NUL in path", Reload(pb::ReloadRequest { path: "/tmp/a\u{0}b".into(), }), Invalid),
        ("reload: 10 kB path", Reload(pb::ReloadRequest { path: big.clone() }), Invalid),
        // ---- profiles
        ("get_profile: unknown", GetProfile(pb::GetProfileRequest { name: "nope".into(), }), NotFound),
        ("get_profile: 10 kB name", GetProfile(pb::GetProfileRequest { name: big.clone() }), Invalid),
        ("get_profile: NUL name", GetProfile(pb::GetProfileRequest { name: "a\u{0}".into(), }), Invalid),
        ("put_profile: empty name", profile_with(&|p| p.name = String::new()), Invalid),
        ("put_profile: 10 kB name", profile_with(&|p| p.name = "p".repeat(10_000)), Invalid),
        ("put_profile: NaN weight", profile_with(&|p| p.w_cost = f64::NAN), Invalid),
        ("put_profile: infinite weight", profile_with(&|p| p.w_load = f64::INFINITY), Invalid),
        ("put_profile: negative weight", profile_with(&|p| p.w_holdings = -1.0), Invalid),
        ("put_profile: mode 99", profile_with(&|p| p.mode = 99), Invalid),
        ("put_profile: stale version", profile_with(&|p| { p.name = "default".into(); p.version = 99; }), Aborted),
        // ---- lenders
        ("get_lender: unknown", GetLender(pb::GetLenderRequest { symbol: "GHOST".into(), }), NotFound),
        ("get_lender: 10 kB symbol", GetLender(pb::GetLenderRequest { symbol: big.clone(), }), Invalid),
        ("put_lender: not JSON", PutLender(pb::LenderEntry { symbol: "L00004".into(), entry_json: "{nope".into(), version: 0, }), Invalid),
        ("put_lender: symbol mismatch", lender_with(&|v| v["symbol"] = "L00005".into()), Invalid),
        ("put_lender: negative capacity", lender_with(&|v| v["capacity"]["open_requests"] = serde_json::json!(-4)), Invalid),
        ("put_lender: currency XYZ", lender_with(&|v| v["currency"] = "XYZ".into()), Invalid),
        ("put_lender: timezone Mars", lender_with(&|v| v["timezone"] = "Mars/Olympus".into()), Invalid),
        ("put_lender: NUL in name", lender_with(&|v| v["name"] = "a\u{0}b".into()), Invalid),
        ("put_lender: 10 kB name", lender_with(&|v| v["name"] = big.clone().into()), Invalid),
        ("put_lender: stale version", lender_with(&|_| {}).with_version(99), Aborted),
        ("get_lender: NUL symbol", GetLender(pb::GetLenderRequest { symbol: nul.clone(), }), Invalid),
        // ---- Simulate
        ("simulate: not TOML", sim("[[["), Invalid),
        ("simulate: 10 M records", sim("records = 10000000\n"), Invalid),
        ("simulate: unknown field", sim("no_such_field = 1\n"), Invalid),
        ("simulate: server file", sim("imls = \"/etc/passwd\"\n"), Invalid),
        ("simulate: bad profile TOML", Simulate(pb::SimulateRequest { profiles_toml: vec!["[[[".into()], ..Default::default() }), Invalid),
    ]
}

impl Call {
    fn with_version(self, v: u64) -> Call {
        match self {
            Call::PutLender(mut l) => {
                l.version = v;
                Call::PutLender(l)
            }
            other => other,
        }
    }
}

#[test]
fn hostile_inputs_are_refused_and_the_server_keeps_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let s = start(tmp.path(), &[]);
    rt().block_on(async {
        let ch = channel(&s.addr).await;
        let mut c = Clients {
            routing: pb::routing_client::RoutingClient::new(ch.clone()),
            events: pb::events_client::EventsClient::new(ch.clone()),
            catalog: pb::catalog_client::CatalogClient::new(ch.clone()),
            admin: pb::admin_client::AdminClient::new(ch.clone()),
        };
        let profile = c
            .admin
            .get_profile(pb::GetProfileRequest {
                name: "default".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let lender: serde_json::Value = serde_json::from_str(
            &c.admin
                .get_lender(pb::GetLenderRequest {
                    symbol: "L00004".into(),
                })
                .await
                .unwrap()
                .into_inner()
                .entry_json,
        )
        .unwrap();
        let cases = table(&profile, &lender);
        assert!(cases.len() >= 80, "only {} hostile inputs", cases.len());
        let mut wrong = Vec::new();
        for (name, call, want) in cases {
            match c.run(call).await {
                Ok(()) => wrong.push(format!("{name}: accepted, want {want:?}")),
                Err(e) if e.code() != want => wrong.push(format!(
                    "{name}: {:?} {:?}, want {want:?}",
                    e.code(),
                    e.message().chars().take(200).collect::<String>()
                )),
                Err(e) if e.message().len() > MAX_MESSAGE || e.message().contains('\0') => wrong
                    .push(format!(
                        "{name}: a {}-byte message {:?}…",
                        e.message().len(),
                        e.message().chars().take(80).collect::<String>()
                    )),
                Err(_) => {}
            }
        }
        assert!(
            wrong.is_empty(),
            "{} wrong answers:\n{}",
            wrong.len(),
            wrong.join("\n")
        );

        // a refused Report says how much of it was kept: the first event, not the second
        let e = c
            .run(Call::Report(vec![
                pb::LenderEvent {
                    request_id: "kept".into(),
                    ..event()
                },
                pb::LenderEvent {
                    kind: 77,
                    ..event()
                },
            ]))
            .await
            .unwrap_err();
        assert_eq!(
            e.metadata()
                .get("rota-recorded")
                .map(|v| v.to_str().unwrap()),
            Some("1"),
            "{e:?}"
        );
        assert!(e.message().contains("event 2"), "{}", e.message());

        // paging at the integer extremes: a page size is capped (AIP-158), a far offset
        // gives an empty page
        let page = c
            .admin
            .list_lenders(pb::ListLendersRequest {
                page_size: u32::MAX,
                offset: 0,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!((page.lenders.len(), page.total), (60, 60));
        let page = c
            .admin
            .list_lenders(pb::ListLendersRequest {
                page_size: 10,
                offset: u32::MAX,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.lenders.is_empty());

        // still serving, and nothing above changed what a good request gets
        let ok = c.routing.route(route(1)).await.unwrap().into_inner();
        assert!(ok.error.is_none() && !ok.lenders.is_empty(), "{ok:?}");
        let mut h = tonic_health::pb::health_client::HealthClient::new(ch.clone());
        let st = h
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            st.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );
    });
}

#[test]
fn a_simulation_stops_at_the_callers_deadline() {
    let tmp = tempfile::tempdir().unwrap();
    let s = start(tmp.path(), &[]);
    rt().block_on(async {
        let ch = channel(&s.addr).await;
        let mut admin = pb::admin_client::AdminClient::new(ch);
        // a run that takes far longer than the caller will wait
        let mut long = tonic::Request::new(pb::SimulateRequest {
            scenario_toml:
                "days = 40\nlibraries = 50\nrecords = 20000\nrequests_per_day = 5000.0\n".into(),
            time_limit_seconds: 300,
            ..Default::default()
        });
        long.set_timeout(std::time::Duration::from_millis(500));
        let e = admin.simulate(long).await.unwrap_err();
        assert!(
            matches!(e.code(), Code::DeadlineExceeded | Code::Cancelled),
            "{e:?}"
        );
        // the run stopped with its caller: a new one is admitted within seconds (only one
        // runs at a time, so a run left going would refuse it)
        let small = pb::SimulateRequest {
            scenario_toml: "days = 2\nlibraries = 10\nrecords = 1000\nrequests_per_day = 20.0\n"
                .into(),
            time_limit_seconds: 60,
            ..Default::default()
        };
        let t = std::time::Instant::now();
        loop {
            match admin.simulate(small.clone()).await {
                Ok(_) => break,
                Err(e) if e.code() == Code::ResourceExhausted => {
                    assert!(
                        t.elapsed() < std::time::Duration::from_secs(10),
                        "the abandoned simulation is still running: {e:?}"
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("{e:?}"),
            }
        }
    });
}
