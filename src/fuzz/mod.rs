//! Regression hunting: proptest generates sequences of Sync operations (`generate`), the pure model
//! (`crate::model`) judges every answer of the real server, the SPEC area K invariants check the
//! database after every step (`driver`), and a failure shrinks to the shortest sequence that
//! still fails (`session`) and is kept as a regression file
//! (`regression`) that `cargo test` replays. Runs against the embedded reference backend or any URL + secret.

pub mod driver;
pub mod generate;
pub mod regression;
pub mod session;
