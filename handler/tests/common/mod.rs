//! Helpers shared by the integration test binaries. Each binary uses a different subset, hence the
//! `dead_code` allowances.

#[allow(dead_code)]
pub mod dynamodb;
#[allow(dead_code)]
pub mod handle;
#[allow(dead_code)]
pub mod moto;
