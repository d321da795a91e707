//! The mirror's metadata: the rules a document is handled by ([`rules`]),
//! its signature with `trusted-keys` ([`signed`]),
//! reading it one entry at a time ([`document`], [`fields`]), keeping its
//! entries on the mirror ([`policy`]), validating it for uv ([`schema`]),
//! getting one document ([`fetch`], with [`name_lookup`], [`proxy`] and
//! [`transport`] for the way there, credentials from [`netrc`] and the roots
//! that vouched learnt by [`tls`]), what the cache knows about a copy
//! ([`store`]) and whether the copy is still the one validated
//! ([`integrity`]), and keeping that copy fresh ([`freshness`], trying the
//! sources within the call's budget in [`failover`]).

pub mod document;
pub mod failover;
pub mod fetch;
pub mod fields;
pub mod forms;
pub mod freshness;
pub mod integrity;
pub mod name_lookup;
pub mod netrc;
pub mod policy;
pub mod proxy;
pub mod rules;
pub mod schema;
pub mod signed;
pub mod store;
pub mod tls;
pub mod transport;
