//! Unit tests of the session: inputs in, printed text out.
