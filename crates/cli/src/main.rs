//! The `rota` command.

mod catalog_cmd;
mod route_cmd;

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
    /// Compute a lending string offline from a snapshot and a directory.
    Route(Box<route_cmd::RouteArgs>),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Catalog(c) => catalog_cmd::run(c),
        Command::Directory(c) => route_cmd::directory_cmd(c),
        Command::Route(a) => route_cmd::route_offline(*a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
