//! Criterion: identifier and title lookups on a 200,000-record synthetic catalogue.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rota_catalog::{Citation, LookupOptions, generate};

fn lookups(c: &mut Criterion) {
    let cat = rota_benches::synthetic(200_000, 1000);
    let isbns: Vec<String> = (0..1024u64).map(|i| generate::isbn_of(i * 193)).collect();
    let mut k = 0;
    let mut buf = Vec::new();
    c.bench_function("isbn -> holders", |b| {
        b.iter(|| {
            k = (k + 1) % isbns.len();
            let id = rota_catalog::ident::normalize_isbn(&isbns[k]).unwrap();
            buf.clear();
            cat.each_cluster_for(&id, |cl| cat.holders_into(cl, &mut buf));
            black_box(&buf);
        })
    });
    let ids: Vec<rota_catalog::Ident> = isbns
        .iter()
        .map(|t| rota_catalog::ident::normalize_isbn(t).unwrap())
        .collect();
    let mut many = Vec::new();
    c.bench_function("isbn -> holders, 1024 at a time", |b| {
        b.iter(|| {
            many.clear();
            cat.each_holding_of_many(&ids, |i, _, h| many.push((i, h)));
            black_box(&many);
        })
    });
    let mut k = 0;
    c.bench_function("cluster display info", |b| {
        b.iter(|| {
            k = (k + 7919) % 200_000;
            black_box(cat.info(rota_catalog::ClusterId::new(k)).unwrap())
        })
    });
    let titles: Vec<Citation> = (0..256u32)
        .map(|i| {
            let info = cat.info(rota_catalog::ClusterId::new(i * 701)).unwrap();
            Citation {
                title: Some(info.title),
                author: Some(info.author),
                ..Citation::default()
            }
        })
        .collect();
    let mut k = 0;
    c.bench_function("title + author lookup", |b| {
        b.iter(|| {
            k = (k + 1) % titles.len();
            black_box(cat.lookup(&titles[k], LookupOptions::default()).unwrap())
        })
    });
    c.bench_function("normalize isbn-10 with qualifier", |b| {
        b.iter(|| {
            black_box(rota_catalog::ident::normalize_isbn(black_box(
                "0-521-22285-0 (pbk.)",
            )))
        })
    });
}

/// What a title lookup pays to load one posting list: an Elias–Fano list decoded into a
/// roaring bitmap, against roaring loading its own serialised form (why dense lists stay
/// roaring: `rota_catalog::postings::DENSE`).
fn posting_lists(c: &mut Criterion) {
    use rota_catalog::postings;
    let ids: Vec<u32> = (0..50_000u32).map(|i| i * 20 + (i % 7)).collect();
    let mut ef = Vec::new();
    postings::encode(&ids, 1_000_000, &mut ef);
    let mut ser = Vec::new();
    ids.iter()
        .copied()
        .collect::<roaring::RoaringBitmap>()
        .serialize_into(&mut ser)
        .unwrap();
    let mut g = c.benchmark_group("posting list of 50,000 ids");
    g.bench_function("Elias-Fano decode", |b| {
        b.iter(|| black_box(postings::decode(black_box(&ef), 1_000_000)))
    });
    g.bench_function("Elias-Fano through from_sorted_iter", |b| {
        b.iter(|| {
            black_box(
                roaring::RoaringBitmap::from_sorted_iter(postings::ids(black_box(&ef), 1_000_000))
                    .unwrap(),
            )
        })
    });
    g.bench_function("roaring load (unchecked)", |b| {
        b.iter(|| {
            black_box(
                roaring::RoaringBitmap::deserialize_unchecked_from(black_box(&ser[..])).unwrap(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, lookups, posting_lists);
criterion_main!(benches);
