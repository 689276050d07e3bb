//! Criterion: one route for an item held by 200 of 1,000 lenders, and event application.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn routing(c: &mut Criterion) {
    let (engine, state, events) =
        rota_benches::engine_with_history(rota_benches::two_hundred_holders(50_000), 200_000);
    let dir = engine.directory().clone();
    let reqs: Vec<_> = (0..50u64)
        .map(|k| rota_benches::request(&dir, k * 1000, k as usize))
        .collect();
    let mut k = 0;
    c.bench_function("route 200 holders top 5", |b| {
        b.iter(|| {
            k = (k + 1) % reqs.len();
            black_box(engine.route(&state, &reqs[k]).unwrap())
        })
    });
    // the same shape for articles: 200 serial holders, each checked against its coverage
    let (sengine, sstate, _) = rota_benches::engine_with_history(
        rota_benches::two_hundred_serial_holders(50_000, true),
        200_000,
    );
    let sdir = sengine.directory().clone();
    let areqs: Vec<_> = (0..50u64)
        .map(|k| rota_benches::article_request(&sdir, k * 1000, k as usize, k))
        .collect();
    c.bench_function("route article 200 serial holders top 5", |b| {
        b.iter(|| {
            k = (k + 1) % areqs.len();
            black_box(sengine.route(&sstate, &areqs[k]).unwrap())
        })
    });
    let mut g = c.benchmark_group("events");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.sample_size(10);
    g.bench_function("apply 200k", |b| {
        b.iter(|| {
            let mut s = engine.new_state();
            for e in &events {
                s.apply(&dir, e).unwrap();
            }
            black_box(s.applied())
        })
    });
    g.finish();
}

criterion_group!(benches, routing);
criterion_main!(benches);
