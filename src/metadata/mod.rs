//! The mirror's metadata: the rules a document is handled by ([`rules`]),
//! reading it one entry at a time ([`document`], [`fields`]), keeping its
//! entries on the mirror ([`policy`]), validating it for uv ([`schema`]),
//! getting one document ([`fetch`]), what the cache knows about a copy
//! ([`store`]), and keeping that copy fresh ([`freshness`]).

pub mod document;
pub mod fetch;
pub mod fields;
pub mod freshness;
pub mod policy;
pub mod rules;
pub mod schema;
pub mod store;
