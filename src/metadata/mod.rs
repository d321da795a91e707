//! The mirror's metadata: its schema and validation ([`schema`]), getting
//! one document ([`fetch`], with credentials from [`netrc`] and the roots
//! that vouched learnt by [`tls`]), what the cache knows about a copy
//! ([`store`]), and keeping that copy fresh ([`freshness`]).

pub mod fetch;
pub mod freshness;
pub mod netrc;
pub mod schema;
pub mod store;
pub mod tls;
