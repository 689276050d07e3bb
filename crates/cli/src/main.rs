//! The `rota` command.

mod catalog_cmd;
mod citation_args;
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
    /// Token helpers.
    #[command(subcommand)]
    Token(TokenCmd),
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Print the SHA-256 a config stores for a token.
    Hash {
        /// The token.
        token: String,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Catalog(c) => catalog_cmd::run(c),
        Command::Directory(c) => route_cmd::directory_cmd(c),
        Command::Serve(a) => serve_cmd::serve(*a),
        Command::Route(a) => route_cmd::route(*a),
        Command::Reroute(a) => serve_cmd::reroute(*a),
        Command::Simulate(a) => sim_cmd::simulate(*a),
        Command::Token(TokenCmd::Hash { token }) => {
            println!("{}", rota_server::hash_token(&token));
            Ok(std::process::ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
