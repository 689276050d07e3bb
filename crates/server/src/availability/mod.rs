//! Live availability: before the broker commits a request to a lender, it asks the
//! catalogues of the top candidates whether a copy is on the shelf, in parallel, within a
//! deadline budget (default 300 ms for all of them together).
//!
//! Each lender's endpoint and query profile is its directory entry's `lookup` (SRU,
//! NCIP or Z39.50; [`parse`] and [`z3950`] say how answers are read). What comes back is a
//! [`rota_routing::Availability`] per lender asked: on the shelf, on loan until a date,
//! or unknown (no answer in time, an error, or an answer that says nothing), which the
//! engine ranks by and explains. Answers are cached per lender and item for
//! `availability_cache_secs`; a lender whose lookups fail or time out
//! [`BREAKER_FAILURES`] times in a row is not asked for [`BREAKER_SECS`] (a circuit
//! breaker: one dead catalogue must not cost every request its whole budget).

pub mod parse;
pub mod z3950;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rota_iso18626::xml::Element;
use rota_routing::{Availability, Lookup, LookupProtocol, Shelf};

/// Consecutive failures that open a lender's breaker.
pub const BREAKER_FAILURES: u32 = 3;
/// How long an open breaker keeps a lender from being asked, seconds.
pub const BREAKER_SECS: u64 = 60;
/// Most cached answers.
const MAX_CACHED: usize = 100_000;

/// The identifiers an item is looked up by.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Item {
    /// ISBN.
    pub isbn: Option<String>,
    /// ISSN.
    pub issn: Option<String>,
    /// OCLC number.
    pub oclc: Option<String>,
}

impl Item {
    fn key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.isbn.as_deref().unwrap_or(""),
            self.issn.as_deref().unwrap_or(""),
            self.oclc.as_deref().unwrap_or("")
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        match name {
            "isbn" => self.isbn.as_deref(),
            "issn" => self.issn.as_deref(),
            "oclc" => self.oclc.as_deref(),
            _ => None,
        }
    }
}

/// The SRU query for an item under a profile, or none if the item lacks what it needs.
pub fn cql(lookup: &Lookup, item: &Item) -> Option<String> {
    let fill = |template: &str| -> Option<String> {
        let mut q = template.to_string();
        for k in ["isbn", "issn", "oclc"] {
            let ph = format!("{{{k}}}");
            if q.contains(&ph) {
                // identifiers are digits, X and dashes; anything else would change the query
                let v = item.get(k)?;
                if !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    return None;
                }
                q = q.replace(&ph, v);
            }
        }
        Some(q)
    };
    match &lookup.query {
        Some(t) => fill(t),
        None => [
            "bath.isbn={isbn}",
            "bath.issn={issn}",
            "rec.identifier={oclc}",
        ]
        .iter()
        .find_map(|t| fill(t)),
    }
}

/// The Z39.50 query for an item under a profile: (Bib-1 use attribute, term).
pub fn z3950_query(lookup: &Lookup, item: &Item) -> Option<(u32, String)> {
    let ok = |v: &str| v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    match &lookup.query {
        Some(q) => {
            // `@attr 1=USE {key}`
            let rest = q.trim().strip_prefix("@attr 1=")?;
            let (use_attr, key) = rest.split_once(' ')?;
            let key = key.trim().strip_prefix('{')?.strip_suffix('}')?;
            let v = item.get(key).filter(|v| ok(v))?;
            Some((use_attr.parse().ok()?, v.to_string()))
        }
        None => [("isbn", 7), ("issn", 8), ("oclc", 1211)]
            .into_iter()
            .find_map(|(k, u)| item.get(k).filter(|v| ok(v)).map(|v| (u, v.to_string()))),
    }
}

/// The NCIP `LookupItemSet` for an item, asked of `agency`.
pub fn ncip_request(item: &Item, agency: &str) -> Option<String> {
    let (code, id) = [
        ("ISBN", &item.isbn),
        ("ISSN", &item.issn),
        ("OCLC", &item.oclc),
    ]
    .into_iter()
    .find_map(|(c, v)| v.as_ref().map(|v| (c, v.clone())))?;
    let body = Element::node(
        "LookupItemSet",
        vec![
            Element::node(
                "InitiationHeader",
                vec![
                    Element::node("FromAgencyId", vec![Element::leaf("AgencyId", "rota")]),
                    Element::node("ToAgencyId", vec![Element::leaf("AgencyId", agency)]),
                ],
            ),
            Element::node(
                "BibliographicId",
                vec![Element::node(
                    "BibliographicItemId",
                    vec![
                        Element::leaf("BibliographicItemIdentifier", id),
                        Element::leaf("BibliographicItemIdentifierCode", code),
                    ],
                )],
            ),
            Element::leaf("ItemElementType", "Circulation Status"),
        ],
    );
    let mut root = Element::node("NCIPMessage", vec![body]);
    root.attrs.push((
        "version".into(),
        "http://www.niso.org/schemas/ncip/v2_02/ncip_v2_02.xsd".into(),
    ));
    Some(rota_iso18626::xml::write_in(&root, NCIP_NS))
}

/// NCIP 2's namespace.
pub const NCIP_NS: &str = "http://www.niso.org/2008/ncip";

#[derive(Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

/// What the checker did for one lender (for logs and tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Asked, answered.
    Answered,
    /// From the cache.
    Cached,
    /// Not asked: its breaker is open.
    Skipped,
    /// Asked, no usable answer (error or refusal), and why.
    Failed(String),
    /// Asked, no answer within the budget.
    TimedOut,
    /// Not asked: nothing to ask by (no identifier its profile can use).
    NoQuery,
}

/// The lookups, their cache and breakers.
pub struct Checker {
    client: reqwest::Client,
    budget: Duration,
    cache_for: Duration,
    cache: Mutex<HashMap<(String, String), (Instant, Shelf)>>,
    breakers: Mutex<HashMap<String, Breaker>>,
}

impl Checker {
    /// A checker with a total budget per route and a cache lifetime.
    pub fn new(budget: Duration, cache_for: Duration) -> Checker {
        // the budget is enforced around each lookup (so every protocol is cut alike and
        // reported as a timeout); the client's own limit only bounds a stray request
        let client = crate::outbound::client(budget + Duration::from_secs(1));
        Checker {
            client,
            budget,
            cache_for,
            cache: Mutex::default(),
            breakers: Mutex::default(),
        }
    }

    async fn ask(&self, lookup: &Lookup, item: &Item, symbol: &str) -> Result<Shelf, String> {
        match lookup.protocol {
            LookupProtocol::Z3950 => {
                let (use_attr, term) =
                    z3950_query(lookup, item).ok_or("no identifier for the query")?;
                z3950::lookup(&lookup.url, use_attr, &term).await
            }
            LookupProtocol::Sru => {
                let query = cql(lookup, item).ok_or("no identifier for the query")?;
                let schema = lookup.schema.as_deref().unwrap_or("opac");
                let url = reqwest::Url::parse_with_params(
                    &lookup.url,
                    &[
                        ("version", "1.1"),
                        ("operation", "searchRetrieve"),
                        ("query", query.as_str()),
                        ("maximumRecords", "10"),
                        ("recordSchema", schema),
                    ],
                )
                .map_err(|e| e.to_string())?;
                let resp = self
                    .client
                    .get(url)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                parse::sru(&crate::outbound::body_within(resp, parse::MAX_ANSWER).await?)
            }
            LookupProtocol::Ncip => {
                let agency = lookup.agency.as_deref().unwrap_or(symbol);
                let body = ncip_request(item, agency).ok_or("no identifier for the query")?;
                let answer =
                    crate::outbound::post_xml(&self.client, &lookup.url, body, parse::MAX_ANSWER)
                        .await?;
                parse::ncip(&answer)
            }
        }
    }

    fn settle(&self, symbol: &str, ok: bool) {
        let mut b = self.breakers.lock().unwrap_or_else(|e| e.into_inner());
        let e = b.entry(symbol.to_string()).or_default();
        if ok {
            *e = Breaker::default();
        } else {
            e.failures += 1;
            if e.failures >= BREAKER_FAILURES {
                e.open_until = Some(Instant::now() + Duration::from_secs(BREAKER_SECS));
                e.failures = 0;
                tracing::warn!(
                    lender = symbol,
                    "availability lookups keep failing; not asked for {BREAKER_SECS} s"
                );
            }
        }
    }

    /// Asks every target at once; whatever has not answered when the budget is spent
    /// is unknown. Returns one entry per target, with what happened.
    pub async fn check(
        &self,
        targets: &[(String, Lookup)],
        item: &Item,
    ) -> Vec<(Availability, Outcome)> {
        let started = Instant::now();
        let key = item.key();
        let asks = targets.iter().map(|(symbol, lookup)| {
            let key = key.clone();
            async move {
                let unknown = |o| {
                    (
                        Availability {
                            lender: symbol.clone(),
                            shelf: Shelf::Unknown,
                        },
                        o,
                    )
                };
                if let Some((at, shelf)) = self
                    .cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&(symbol.clone(), key.clone()))
                    .copied()
                    && at.elapsed() < self.cache_for
                {
                    return (
                        Availability {
                            lender: symbol.clone(),
                            shelf,
                        },
                        Outcome::Cached,
                    );
                }
                let open = self
                    .breakers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(symbol.as_str())
                    .and_then(|b| b.open_until)
                    .is_some_and(|u| Instant::now() < u);
                if open {
                    return unknown(Outcome::Skipped);
                }
                let left = self.budget.saturating_sub(started.elapsed());
                match tokio::time::timeout(left, self.ask(lookup, item, symbol)).await {
                    Ok(Ok(shelf)) => {
                        self.settle(symbol, true);
                        let mut c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                        if c.len() >= MAX_CACHED {
                            let ttl = self.cache_for;
                            c.retain(|_, (at, _)| at.elapsed() < ttl);
                            if c.len() >= MAX_CACHED {
                                c.clear();
                            }
                        }
                        c.insert((symbol.clone(), key), (Instant::now(), shelf));
                        (
                            Availability {
                                lender: symbol.clone(),
                                shelf,
                            },
                            Outcome::Answered,
                        )
                    }
                    Ok(Err(why)) if why == "no identifier for the query" => {
                        unknown(Outcome::NoQuery)
                    }
                    Ok(Err(why)) => {
                        tracing::info!(lender = %symbol, error = %why, "availability lookup failed");
                        self.settle(symbol, false);
                        unknown(Outcome::Failed(why))
                    }
                    Err(_) => {
                        tracing::info!(lender = %symbol, "availability lookup did not answer within the budget");
                        self.settle(symbol, false);
                        unknown(Outcome::TimedOut)
                    }
                }
            }
        });
        futures::future::join_all(asks).await
    }
}

#[cfg(test)]
mod tests;
