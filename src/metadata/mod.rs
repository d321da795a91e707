//! The mirror's metadata: its schema and validation ([`schema`]), getting
//! one document ([`fetch`]), what the cache knows about a copy ([`store`]),
//! and keeping that copy fresh ([`freshness`]).

pub mod fetch;
pub mod freshness;
pub mod schema;
pub mod store;
