//! Telemetry: what an operator scrapes and probes.
//!
//! - This module names every metric once, with its help text and unit ([`describe`]), so
//!   each has a `# HELP` line, and installs the Prometheus exporter with bucket bounds for
//!   every histogram: latencies are true Prometheus histograms (summable across replicas
//!   with `histogram_quantile`), not per-process summaries.
//! - [`rpc`] is a tower layer over the whole gRPC router: every call, whichever service,
//!   whether it was answered, refused, shed by admission or ended by the client, is counted
//!   once, with one label style (`service`, `method`, `code`), and timed until its response
//!   body ends (a stream for as long as it runs).
//! - [`http`] is the operations listener: `/metrics`, `/healthz` (liveness: the process
//!   answers), `/readyz` (readiness: the catalogue is loaded and the server is not
//!   draining), and 404 for any other path.
//!
//! Label values are bounded: the `service` and `method` of a call are taken from the
//! API's own descriptors, so a client inventing paths cannot grow the series, and no label
//! carries a lender, a borrower or a rank.

pub mod http;
pub mod rpc;

use std::sync::OnceLock;

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Calls finished, by `service`, `method` and `code`.
pub const RPC_REQUESTS: &str = "rota_rpc_requests_total";
/// Call durations, by `service` and `method`.
pub const RPC_DURATION: &str = "rota_rpc_duration_seconds";
/// Calls refused for overload, by `reason`.
pub const SHED: &str = "rota_shed_total";
/// How long a title search waited for a core.
pub const QUEUE_WAIT: &str = "rota_queue_wait_seconds";
/// Calls in the server now.
pub const IN_FLIGHT: &str = "rota_in_flight_calls";
/// `RouteBatch` items answered, by `code`.
pub const BATCH_ITEMS: &str = "rota_batch_items_total";
/// Lifecycle events applied to the live state.
pub const EVENTS_APPLIED: &str = "rota_events_applied_total";
/// History records not kept (the history writer was behind, or could not write).
pub const HISTORY_DROPPED: &str = "rota_history_dropped_total";
/// Log records made durable.
pub const LOG_RECORDS: &str = "rota_log_records_total";
/// Durable log records the engine could not apply.
pub const LOG_NOT_APPLIED: &str = "rota_log_records_not_applied_total";
/// Group-commit fsync durations.
pub const LOG_FSYNC: &str = "rota_log_fsync_seconds";
/// Clusters in the loaded catalogue.
pub const INDEX_CLUSTERS: &str = "rota_index_clusters";
/// Holdings in the loaded catalogue.
pub const INDEX_HOLDINGS: &str = "rota_index_holdings";
/// Bytes of the loaded catalogue.
pub const INDEX_BYTES: &str = "rota_index_bytes";
/// Lenders in the directory.
pub const LENDERS: &str = "rota_lenders";
/// Lenders at or over their declared capacity.
pub const LENDERS_AT_CAPACITY: &str = "rota_lenders_at_capacity";
/// Open requests across all lenders.
pub const OPEN_REQUESTS: &str = "rota_open_requests";
/// Open requests at the busiest lender.
pub const BUSIEST_LENDER_OPEN: &str = "rota_busiest_lender_open_requests";
/// 1 once the catalogue is loaded and calls are served; 0 while loading or draining.
pub const READY: &str = "rota_ready";
/// Always 1, labelled with the build.
pub const BUILD_INFO: &str = "rota_build_info";

/// ISO 18626 messages, by `direction` (`in`: received; `out`: sent by the broker) and
/// `outcome` (`ok`, `refused`: answered ERROR, `failed`: not confirmed).
pub const ISO18626_MESSAGES: &str = "rota_iso18626_messages_total";
/// Transactions the broker carries (open).
pub const ISO18626_OPEN: &str = "rota_iso18626_open_transactions";
/// Messages the broker owes its peers (waiting for a confirmation).
pub const ISO18626_OUTBOX: &str = "rota_iso18626_outbox";

/// Every metric the server exports.
pub const ALL: &[&str] = &[
    RPC_REQUESTS,
    RPC_DURATION,
    SHED,
    QUEUE_WAIT,
    IN_FLIGHT,
    BATCH_ITEMS,
    EVENTS_APPLIED,
    HISTORY_DROPPED,
    LOG_RECORDS,
    LOG_NOT_APPLIED,
    LOG_FSYNC,
    INDEX_CLUSTERS,
    INDEX_HOLDINGS,
    INDEX_BYTES,
    LENDERS,
    LENDERS_AT_CAPACITY,
    OPEN_REQUESTS,
    BUSIEST_LENDER_OPEN,
    READY,
    BUILD_INFO,
    ISO18626_MESSAGES,
    ISO18626_OPEN,
    ISO18626_OUTBOX,
];

/// Upper bounds of the latency buckets, seconds: identifier routes take tens of
/// microseconds, title searches milliseconds, a Simulate call or a long stream seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 120.0,
];

/// Describes every metric (help text and unit). Idempotent.
pub fn describe() {
    describe_counter!(
        RPC_REQUESTS,
        "gRPC calls finished, by service, method and status code (calls shed by admission and calls the client abandoned, as CANCELLED, included)"
    );
    describe_histogram!(
        RPC_DURATION,
        Unit::Seconds,
        "time from a call's headers to the end of its response (a stream: its whole life)"
    );
    describe_counter!(
        SHED,
        "calls refused RESOURCE_EXHAUSTED for overload: reason in_flight (limits.max_in_flight reached) or queued (no core free within limits.max_queue_ms)"
    );
    describe_histogram!(
        QUEUE_WAIT,
        Unit::Seconds,
        "time a title search waited for a core"
    );
    describe_gauge!(
        IN_FLIGHT,
        "calls in the server at the scrape (each holds an admission permit)"
    );
    describe_counter!(BATCH_ITEMS, "RouteBatch items answered, by status code");
    describe_counter!(
        EVENTS_APPLIED,
        "lifecycle events applied to the live lender state"
    );
    describe_counter!(
        HISTORY_DROPPED,
        "routes, events and changes the console's history did not keep (its writer was behind or failed)"
    );
    describe_counter!(LOG_RECORDS, "records made durable in the log");
    describe_counter!(
        LOG_NOT_APPLIED,
        "durable log records the engine could not apply (each also logged as an error)"
    );
    describe_histogram!(
        LOG_FSYNC,
        Unit::Seconds,
        "duration of each group-commit write and fdatasync of the log"
    );
    describe_gauge!(INDEX_CLUSTERS, "clusters (works) in the loaded catalogue");
    describe_gauge!(INDEX_HOLDINGS, "holdings in the loaded catalogue");
    describe_gauge!(
        INDEX_BYTES,
        Unit::Bytes,
        "bytes of the loaded catalogue snapshot"
    );
    describe_gauge!(LENDERS, "lenders in the directory");
    describe_gauge!(
        LENDERS_AT_CAPACITY,
        "lenders whose open requests have reached their declared capacity (100 when none is declared)"
    );
    describe_gauge!(OPEN_REQUESTS, "open requests across all lenders");
    describe_gauge!(BUSIEST_LENDER_OPEN, "open requests at the busiest lender");
    describe_gauge!(
        READY,
        "1 when the catalogue is loaded and calls are served, 0 while loading or draining"
    );
    describe_counter!(
        ISO18626_MESSAGES,
        "ISO 18626 messages, by direction (in: received, out: sent by the broker) and outcome (ok, refused: answered ERROR, failed: not confirmed, resent later)"
    );
    describe_gauge!(ISO18626_OPEN, "transactions the ISO 18626 broker carries");
    describe_gauge!(
        ISO18626_OUTBOX,
        "messages the ISO 18626 broker owes its peers, waiting for their confirmation"
    );
    describe_gauge!(
        BUILD_INFO,
        "always 1; the labels say which build is running"
    );
}

/// The process's Prometheus exporter, installed on first use; `None` if another metrics
/// recorder was installed first (a host embedding the server with its own).
pub fn install() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match builder().install_recorder() {
            Ok(h) => {
                describe();
                metrics::gauge!(
                    BUILD_INFO,
                    "version" => env!("CARGO_PKG_VERSION"),
                    "profile" => if cfg!(debug_assertions) { "debug" } else { "release" },
                )
                .set(1.0);
                Some(h)
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed");
                None
            }
        })
        .clone()
}

fn builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
        .expect("the bucket list is not empty")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every metric the server records is described, rendered as a histogram where it is
    /// one, and has a `# HELP` line.
    #[test]
    fn every_metric_has_help_and_histograms_have_buckets() {
        let rec = builder().build_recorder();
        let handle = rec.handle();
        metrics::with_local_recorder(&rec, || {
            describe();
            metrics::counter!(RPC_REQUESTS, "service" => "s", "method" => "m", "code" => "OK")
                .increment(1);
            metrics::histogram!(RPC_DURATION, "service" => "s", "method" => "m").record(0.003);
            metrics::histogram!(QUEUE_WAIT).record(0.001);
            metrics::histogram!(LOG_FSYNC).record(0.001);
            metrics::gauge!(READY).set(1.0);
        });
        let text = handle.render();
        let typed: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        assert!(typed.len() >= 5, "{text}");
        for name in typed {
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "{name} has no help:\n{text}"
            );
        }
        for h in [RPC_DURATION, QUEUE_WAIT, LOG_FSYNC] {
            assert!(text.contains(&format!("# TYPE {h} histogram")), "{text}");
            assert!(text.contains(&format!("{h}_bucket{{")), "{text}");
        }
        assert!(
            text.contains(
                r#"rota_rpc_duration_seconds_bucket{service="s",method="m",le="0.005"} 1"#
            ),
            "{text}"
        );
    }

    /// The Grafana dashboard in `deploy/` reads only metrics the server exports, and
    /// every metric the server exports is on it: a renamed metric cannot leave a panel
    /// silently empty.
    #[test]
    fn the_dashboard_reads_exactly_the_exported_metrics() {
        let dash: serde_json::Value =
            serde_json::from_str(include_str!("../../../../deploy/grafana-rota.json"))
                .expect("the dashboard is JSON");
        let panels = dash["panels"].as_array().expect("panels");
        let mut ids = std::collections::HashSet::new();
        let mut used = std::collections::HashSet::new();
        for p in panels {
            assert!(
                ids.insert(p["id"].as_u64().expect("a panel id")),
                "duplicate panel id"
            );
            for t in p["targets"].as_array().into_iter().flatten() {
                let expr = t["expr"].as_str().expect("a PromQL expression");
                let mut rest = expr;
                while let Some(at) = rest.find("rota_") {
                    let name: String = rest[at..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    rest = &rest[at + name.len()..];
                    let base = ["_bucket", "_count", "_sum"]
                        .iter()
                        .find_map(|s| name.strip_suffix(s).filter(|b| ALL.contains(b)))
                        .unwrap_or(&name);
                    assert!(
                        ALL.contains(&base),
                        "{expr:?} reads {name}, which rota does not export"
                    );
                    used.insert(base.to_string());
                }
            }
        }
        for m in ALL {
            assert!(used.contains(*m), "{m} is on no panel of the dashboard");
        }
    }
}
