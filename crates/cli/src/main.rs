//! The `rota` command.

mod catalog_cmd;
mod citation_args;
mod peer_cmd;
mod route_cmd;
mod route_print;
mod serve_cmd;
mod sim_cmd;

use clap::{Parser, Subcommand};

// The catalogue build allocates millions of small strings on every core; glibc's malloc
// spends a third of the build in locks and consolidation, mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// rota: lender routing for interlibrary loan.
#[derive(Parser)]
#[command(name = "rota", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build, inspect and query union-catalogue snapshots.
    #[command(subcommand)]
    Catalog(catalog_cmd::CatalogCmd),
    /// Generate or check lender directories.
    #[command(subcommand)]
    Directory(route_cmd::DirectoryCmd),
    /// Run the gRPC service (with no arguments: the demo consortium on 127.0.0.1).
    Serve(Box<serve_cmd::ServeArgs>),
    /// Compute a lending string: offline (--snapshot, --directory) or from a server (--server).
    Route(Box<route_cmd::RouteArgs>),
    /// Re-route unfilled requests in bulk through a server's RouteBatch.
    Reroute(Box<serve_cmd::RerouteArgs>),
    /// Compare routing strategies on a simulated consortium.
    Simulate(Box<sim_cmd::SimArgs>),
    /// Scripted ISO 18626 libraries to try the broker with (lenders and requesters).
    #[command(subcommand)]
    Peer(peer_cmd::PeerCmd),
    /// Token helpers.
    #[command(subcommand)]
    Token(TokenCmd),
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Print the SHA-256 a config stores for a token, read from standard input (one
    /// line) or a file, never from the command line, where `ps` and shell history keep it.
    Hash {
        /// Read the token from this file (its first line) instead of standard input.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
}

/// The token `rota token hash` reads: the first line of the file or of standard input.
fn read_token(file: Option<&std::path::Path>) -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    let mut line = String::new();
    match file {
        Some(f) => {
            let text = std::fs::read_to_string(f)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.display()))?;
            line = text.lines().next().unwrap_or_default().to_string();
        }
        None => {
            if std::io::stdin().is_terminal() {
                eprintln!("type the token, then Enter (it is not echoed to any file)");
            }
            std::io::stdin().lock().read_line(&mut line)?;
        }
    }
    let token = line.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(
        !token.is_empty(),
        "no token given: pipe it in or pass --file"
    );
    Ok(token)
}

/// An error and its causes, each said once: a library error whose message already quotes
/// its source (`"directory: {0}"` over the source) would otherwise print it twice.
fn once_each(e: &anyhow::Error) -> String {
    let mut said = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !said.contains(&c) {
            said.push_str(": ");
            said.push_str(&c);
        }
    }
    said
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // The commands that print for people die quietly on a closed pipe (`rota catalog
    // lookup ... | head`) as Unix tools do, instead of Rust's default of a panic on the
    // next print. The server keeps Rust's default, SIGPIPE ignored: its writes to a
    // client's socket meet closed connections all day, and with SIGPIPE's default action
    // the first one killed it. `reroute` talks to a server for minutes and writes its
    // results to a file, so it keeps the default too.
    if !matches!(
        cli.command,
        Command::Serve(_) | Command::Reroute(_) | Command::Peer(_)
    ) {
        sigpipe::reset();
    }
    let result = match cli.command {
        Command::Catalog(c) => catalog_cmd::run(c),
        Command::Directory(c) => route_cmd::directory_cmd(c),
        Command::Serve(a) => serve_cmd::serve(*a),
        Command::Route(a) => route_cmd::route(*a),
        Command::Reroute(a) => serve_cmd::reroute(*a),
        Command::Simulate(a) => sim_cmd::simulate(*a),
        Command::Peer(c) => peer_cmd::run(c),
        Command::Token(TokenCmd::Hash { file }) => read_token(file.as_deref()).map(|t| {
            println!("{}", rota_server::hash_token(&t));
            std::process::ExitCode::SUCCESS
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", once_each(&e));
            std::process::ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::once_each;

    #[derive(Debug, thiserror::Error)]
    #[error("directory: {0}")]
    struct Outer(#[from] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("lender L1: currency \"XYZ\" is not ISO 4217")]
    struct Inner;

    #[test]
    fn each_error_is_said_once() {
        let e = anyhow::Error::from(Outer(Inner)).context("loading deploy/lenders.toml");
        assert_eq!(
            once_each(&e),
            "loading deploy/lenders.toml: directory: lender L1: currency \"XYZ\" is not ISO 4217"
        );
    }
}
