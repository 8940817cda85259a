//! Tokenserver-compatible tokens and Hawk request MACs for Mozilla Sync 1.5.
//!
//! A Sync 1.5 storage node trusts a token minted by the tokenserver with a secret the two share.
//! The token id names the user (uid, node, expiry) and is signed with a key derived from that
//! secret; the client signs each request with Hawk, using a second key derived from the secret,
//! the token id and the token's salt. This crate does both halves, byte-compatible with Python's
//! `tokenlib` and with syncstorage-rs:
//!
//! - [`mint`] and [`parse`] turn a [`TokenPayload`] into [`Credentials`] and back;
//!   [`derive_key`] recomputes the Hawk key from a token id on the server side.
//! - [`HawkHeader`] parses an `Authorization: Hawk ...` header, and [`HawkHeader::verify`]
//!   checks its MAC against the request it came with ([`RequestTarget`]) with the `hawk` crate.
//! - [`verify_authorization`] chains the two for a storage server: header, token, key, MAC.
//!
//! Expiry and timestamp skew are reported but never enforced here: a conformance harness needs
//! to mint expired tokens and old timestamps on purpose, so the policy belongs to the caller.

mod hawk;
mod kdf;
mod token;

pub use hawk::{Authenticated, HawkError, HawkHeader, RequestTarget, payload_hash, verify_authorization};
pub use token::{Credentials, DEFAULT_SALT_BYTES, TokenError, TokenPayload, derive_key, mint, parse, random_salt};
