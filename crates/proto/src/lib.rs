//! Generated protobuf and gRPC code for `rota.v1` (see `proto/rota/v1/rota.proto`, where
//! every message and field is documented).

#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// `rota.v1`.
pub mod v1 {
    tonic::include_proto!("rota.v1");
}

/// The encoded file descriptor set, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/rota_descriptor.bin"));
