//! Acceptance tests (filled in below).
