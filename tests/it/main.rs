//! rota's integration tests, one binary: real data from `../shared/data`, the `rota`
//! command, and (where built) the running server.

mod broker;
mod catalog;
mod cli;
mod common;
mod consistency;
mod console;
mod hostile;
mod iso18626;
mod metrics;
mod overload;
mod precision;
mod restart;
mod routing;
mod rules;
mod serials;
mod server;
