//! Criterion: the live availability lookups one brokered request waits for, against
//! catalogues on loopback: all answering, and one of them never answering (the route's
//! budget, 300 ms by default, is what that costs, not the catalogue's silence).
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rota_routing::{Lookup, LookupProtocol};
use rota_server::availability::{Checker, Item};

const OPAC: &str = r#"<zs:searchRetrieveResponse xmlns:zs="http://www.loc.gov/zing/srw/"><zs:numberOfRecords>1</zs:numberOfRecords><zs:records><zs:record><zs:recordData><opacRecord><holdings><holding><circulations><circulation><availableNow value="1"/></circulation></circulations></holding></holdings></opacRecord></zs:recordData></zs:record></zs:records></zs:searchRetrieveResponse>"#;
const NCIP: &str = r#"<NCIPMessage xmlns="http://www.niso.org/2008/ncip"><LookupItemSetResponse><BibInformation><HoldingsSet><ItemInformation><ItemOptionalFields><CirculationStatus>On Loan</CirculationStatus></ItemOptionalFields></ItemInformation></HoldingsSet></BibInformation></LookupItemSetResponse></NCIPMessage>"#;

async fn catalogues() -> String {
    use axum::routing::{get, post};
    let app = axum::Router::new()
        .route("/sru", get(|| async { OPAC }))
        .route("/ncip", post(|| async { NCIP }))
        .route(
            "/silent",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                OPAC
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    format!("http://{at}")
}

fn lookup(protocol: LookupProtocol, url: String) -> Lookup {
    Lookup {
        protocol,
        url,
        query: None,
        schema: None,
        agency: None,
    }
}

fn availability(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let base = rt.block_on(catalogues());
    let item = Item {
        isbn: Some("9780262033848".into()),
        ..Item::default()
    };
    let answering: Vec<(String, Lookup)> = (0..5)
        .map(|k| {
            let l = if k % 2 == 0 {
                lookup(LookupProtocol::Sru, format!("{base}/sru"))
            } else {
                lookup(LookupProtocol::Ncip, format!("{base}/ncip"))
            };
            (format!("L{k}"), l)
        })
        .collect();
    let mut one_silent = answering.clone();
    one_silent[4].1 = lookup(LookupProtocol::Sru, format!("{base}/silent"));
    let budget = Duration::from_millis(300);
    let mut g = c.benchmark_group("availability");
    g.sample_size(10);
    // a fresh checker each time: no cache, no open breaker
    g.bench_function("5 catalogues answering", |b| {
        b.iter_batched(
            || Checker::new(budget, Duration::ZERO),
            |ch| rt.block_on(ch.check(&answering, &item)),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("5 catalogues, one silent (300 ms budget)", |b| {
        b.iter_batched(
            || Checker::new(budget, Duration::ZERO),
            |ch| rt.block_on(ch.check(&one_silent, &item)),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, availability);
criterion_main!(benches);
