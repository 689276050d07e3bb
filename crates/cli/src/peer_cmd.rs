//! `rota peer`: scripted ISO 18626 libraries, to try the broker without a library system.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use rota_iso18626::Action;
use rota_iso18626::relay::Confirmed;
use rota_server::iso18626::peer::{self, Ask, Behaviour, Script};

const BROKER: &str = "http://127.0.0.1:9466/iso18626";

/// Scripted ISO 18626 libraries: lenders that answer by script, requesters that ask.
#[derive(Subcommand)]
pub enum PeerCmd {
    /// Play every library at http://LISTEN/iso18626/{symbol}: a request makes it a
    /// lender answering by script, an answer makes it a requester; and its catalogue at
    /// http://LISTEN/ncip/{symbol} (NCIP LookupItemSet). Prints each ISO 18626 message
    /// received as a JSON line.
    Serve(ServeArgs),
    /// Send a request to the broker as a library and print the confirmation.
    Request(RequestArgs),
    /// Send a requester's action (Cancel, Received, ShippedReturn, Renew, …) for a request.
    Send(SendArgs),
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (the demo broker's lenders are here).
    #[arg(long, default_value_t = rota_server::config::DEMO_PEER)]
    listen: SocketAddr,
    /// Where answers go: the broker's ISO 18626 address.
    #[arg(long, default_value = BROKER)]
    broker: String,
    /// How lenders answer a request: loan, copy, unfilled[:REASON], retry[:REASON],
    /// silent, refuse.
    #[arg(long, default_value = "loan")]
    answer: Behaviour,
    /// One lender's answer, as SYMBOL=BEHAVIOUR (repeatable).
    #[arg(long = "lender", value_name = "SYMBOL=BEHAVIOUR")]
    lenders: Vec<String>,
    /// Answers by the order lenders are asked for one request: the first lender asked
    /// answers by the first behaviour, the second by the second, … (comma-separated;
    /// after the list, --answer). --lender takes precedence.
    #[arg(long, value_delimiter = ',')]
    sequence: Vec<Behaviour>,
    /// Wait before each answer, milliseconds.
    #[arg(long, default_value_t = 300)]
    delay_ms: u64,
    /// What one library's catalogue answers over NCIP at /ncip/SYMBOL, as
    /// SYMBOL=on-shelf|on-loan|unknown|slow|broken (repeatable; others: on-shelf).
    #[arg(long = "catalogue", value_name = "SYMBOL=STATUS")]
    catalogues: Vec<String>,
    /// Requesters keep what they are loaned (by default they acknowledge it and send it
    /// back).
    #[arg(long)]
    keep: bool,
}

/// Who sends, to what.
#[derive(Args)]
pub struct Addressing {
    /// The broker's ISO 18626 address.
    #[arg(long, default_value = BROKER)]
    broker: String,
    /// The requesting library (symbol, or TYPE:VALUE).
    #[arg(long)]
    from: String,
    /// The supplier addressed: the broker's agency id.
    #[arg(long, default_value = rota_server::config::DEMO_AGENCY)]
    to: String,
}

#[derive(Args)]
pub struct RequestArgs {
    #[command(flatten)]
    at: Addressing,
    /// The request id (default: one made from the clock).
    #[arg(long)]
    id: Option<String>,
    /// Title.
    #[arg(long)]
    title: Option<String>,
    /// Author.
    #[arg(long)]
    author: Option<String>,
    /// ISBN.
    #[arg(long)]
    isbn: Option<String>,
    /// ISSN.
    #[arg(long)]
    issn: Option<String>,
    /// OCLC number.
    #[arg(long)]
    oclc: Option<String>,
    /// Loan, Copy or CopyOrLoan.
    #[arg(long, default_value = "Loan")]
    service: String,
}

#[derive(Args)]
pub struct SendArgs {
    #[command(flatten)]
    at: Addressing,
    /// The request id.
    #[arg(long)]
    id: String,
    /// The action: Cancel, Received, ShippedReturn, Renew, StatusRequest, Notification.
    #[arg(long)]
    action: String,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

fn confirmed(c: Result<Confirmed, String>, what: &str) -> anyhow::Result<ExitCode> {
    match c {
        Ok(Confirmed::Ok) => {
            println!("{what}: OK");
            Ok(ExitCode::SUCCESS)
        }
        Ok(Confirmed::Error { error_type, value }) => {
            println!("{what}: ERROR {error_type}: {value}");
            Ok(ExitCode::from(1))
        }
        Err(e) => anyhow::bail!("{what}: no confirmation: {e}"),
    }
}

pub fn run(c: PeerCmd) -> anyhow::Result<ExitCode> {
    match c {
        PeerCmd::Serve(a) => {
            let mut lenders = HashMap::new();
            for l in &a.lenders {
                let (s, b) = l
                    .split_once('=')
                    .with_context(|| format!("--lender {l:?}: expected SYMBOL=BEHAVIOUR"))?;
                let b: Behaviour = b
                    .parse()
                    .map_err(|e| anyhow::anyhow!("--lender {l:?}: {e}"))?;
                lenders.insert(s.to_string(), b);
            }
            let mut catalogues = HashMap::new();
            for c in &a.catalogues {
                let (s, v) = c
                    .split_once('=')
                    .with_context(|| format!("--catalogue {c:?}: expected SYMBOL=STATUS"))?;
                let v: peer::Catalogue = v
                    .parse()
                    .map_err(|e| anyhow::anyhow!("--catalogue {c:?}: {e}"))?;
                catalogues.insert(s.to_string(), v);
            }
            let script = Script {
                catalogues,
                broker: a.broker,
                default: a.answer,
                lenders,
                sequence: a.sequence,
                delay: Duration::from_millis(a.delay_ms),
                returns: !a.keep,
            };
            let rt = runtime()?;
            rt.block_on(async move {
                let bound = peer::serve(a.listen, script, |line| {
                    if let Ok(j) = serde_json::to_string(line) {
                        let mut out = std::io::stdout().lock();
                        // a closed stdout stops the output, not the peer
                        let _ = writeln!(out, "{j}").and_then(|()| out.flush());
                    }
                })
                .await
                .with_context(|| format!("cannot listen on {}", a.listen))?;
                eprintln!("rota peer: libraries at http://{bound}/iso18626/{{symbol}}");
                tokio::signal::ctrl_c().await.ok();
                Ok(ExitCode::SUCCESS)
            })
        }
        PeerCmd::Request(a) => {
            let id =
                a.id.unwrap_or_else(|| format!("{}-{}", a.at.from, chrono::Utc::now().timestamp()));
            let doc = peer::request_document(&Ask {
                from: a.at.from,
                to: a.at.to,
                id: id.clone(),
                title: a.title,
                author: a.author,
                isbn: a.isbn,
                issn: a.issn,
                oclc: a.oclc,
                service: a.service,
            });
            let c = runtime()?.block_on(peer::post_once(&a.at.broker, doc));
            confirmed(c, &format!("request {id}"))
        }
        PeerCmd::Send(a) => {
            let action = Action::parse(&a.action)
                .with_context(|| format!("--action {:?} is not an ISO 18626 action", a.action))?;
            let doc = peer::action_document(&a.at.from, &a.at.to, &a.id, action);
            let c = runtime()?.block_on(peer::post_once(&a.at.broker, doc));
            confirmed(c, &format!("{} {}", a.action, a.id))
        }
    }
}
