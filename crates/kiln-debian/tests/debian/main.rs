//! kiln-debian's test runner: one binary for the crate, one module per concern. Network tests
//! (`slow`) run only with `KILN_SLOW_TESTS=1`.

mod archive;
mod common;
mod deb;
mod http;
mod lock;
mod parse;
mod resolve;
mod robust;
mod slow;
mod version;
