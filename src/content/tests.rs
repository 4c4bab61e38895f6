//! Content tests.
