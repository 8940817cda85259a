//! Command-line interface: one subcommand per activity. Doc comments are the help text; every
//! flag can also be set through an environment variable under `SYNCSTORAGE_HARNESS_`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "syncstorage-harness", version, about = "Conformance, consistency and load harness for Mozilla Sync 1.5 storage servers")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the reference Sync 1.5 storage server (starts a throwaway PostgreSQL unless
    /// --database-url is given) and print its URL and secret once it is ready.
    Serve(ServeArgs),
    /// Mint a token for a uid and print its id and Hawk key as JSON, for manual requests.
    Token(TokenArgs),
    /// Run the conformance catalog (every SPEC clause of areas A-J) against the embedded
    /// reference backend, or against any server with --target and --secret.
    Conformance(ConformanceArgs),
    /// Search for sequences of operations the server gets wrong: proptest generates them, a model
    /// of Sync storage judges every answer, the SPEC area K invariants check the database after
    /// every step, and a failure shrinks to the shortest sequence that still fails.
    Fuzz(FuzzArgs),
    /// Check a database once against the SPEC area K invariants, read-only, and list each
    /// invariant with sample violating rows (safe against a production replica).
    Invariants(InvariantsArgs),
}

#[derive(Debug, Args)]
pub struct InvariantsArgs {
    /// The database to check (the server's PostgreSQL, or a replica of it).
    #[arg(long, env = "SYNCSTORAGE_HARNESS_DATABASE_URL")]
    pub database_url: String,
    /// Only these uids (comma-separated; default: every user in the database).
    #[arg(long, value_delimiter = ',')]
    pub users: Option<Vec<i64>>,
    /// Check count and total_bytes (K-13): `auto` when some row has non-zero totals.
    #[arg(long, value_enum, default_value_t = Totals::Auto)]
    pub totals: Totals,
    /// Violating rows shown per invariant.
    #[arg(long, default_value_t = 5)]
    pub sample: usize,
    /// Also write the result as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Whether the totals invariants run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Totals {
    Auto,
    On,
    Off,
}

/// What `conformance` prints on stdout (and the format of `--list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// A table by SPEC area, the failures with their transcripts, and the summary line.
    Table,
    /// The versioned JSON report (as `--json` writes it).
    Json,
    /// Failures grouped by clause, with replay commands and transcripts: the raw material of a
    /// findings document.
    Markdown,
}

#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// Base URL of the server to test (default: start the reference backend on a throwaway
    /// PostgreSQL).
    #[arg(long, env = "SYNCSTORAGE_HARNESS_TARGET", requires = "secret")]
    pub target: Option<url::Url>,
    /// The target's master secret; tokens for the run's users are minted from it.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_SECRET")]
    pub secret: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Which behaviour to expect: the SPEC rule, or also accept syncstorage-rs's documented
    /// differences (reported as compat).
    #[arg(long, env = "SYNCSTORAGE_HARNESS_PROFILE", value_enum, default_value_t = crate::sync::Profile::Spec)]
    pub profile: crate::sync::Profile,
    /// How many cases run at once.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_JOBS", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: u64,
    /// Run only cases whose clause ID starts with, or whose title contains, this (repeatable).
    #[arg(long, env = "SYNCSTORAGE_HARNESS_FILTER", value_delimiter = ',')]
    pub filter: Vec<String>,
    /// Seed for every random choice (default: random, printed).
    #[arg(long, env = "SYNCSTORAGE_HARNESS_SEED")]
    pub seed: Option<u64>,
    /// First uid of the run's own range (default: derived from the seed, in 9000000000..9999999999).
    #[arg(long, env = "SYNCSTORAGE_HARNESS_UID_BASE")]
    pub uid_base: Option<u64>,
    /// List the cases (and the clauses no case can check) instead of running them.
    #[arg(long)]
    pub list: bool,
    /// What to print on stdout: the terminal table, the JSON report, or the Markdown report
    /// (with --list: the case list in that format).
    #[arg(long, env = "SYNCSTORAGE_HARNESS_FORMAT", value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    /// Write a JUnit XML report here.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_JUNIT")]
    pub junit: Option<PathBuf>,
    /// Write the versioned JSON report here.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_JSON")]
    pub json: Option<PathBuf>,
    /// Write the Markdown report (failures grouped by clause) here.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_MARKDOWN")]
    pub markdown: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// Base URL of the server to test (default: the reference backend, small limits and a quota,
    /// on a throwaway PostgreSQL).
    #[arg(long, env = "SYNCSTORAGE_HARNESS_TARGET", requires = "secret")]
    pub target: Option<url::Url>,
    /// The target's master secret; tokens for the run's users are minted from it.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_SECRET")]
    pub secret: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Which behaviour to expect (as for conformance).
    #[arg(long, env = "SYNCSTORAGE_HARNESS_PROFILE", value_enum, default_value_t = crate::sync::Profile::Spec)]
    pub profile: crate::sync::Profile,
    /// Seed of the search (default: random, printed); the same seed generates the same sequences.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_SEED")]
    pub seed: Option<u64>,
    /// First uid of the run's own range (default: derived from the seed, in 9000000000..9999999999).
    #[arg(long, env = "SYNCSTORAGE_HARNESS_UID_BASE")]
    pub uid_base: Option<u64>,
    /// How many sequences to generate at most (shrinking a failure runs more); the time
    /// budget usually ends the search first.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_FUZZ_CASES", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub cases: u32,
    /// Longest sequence, in operations.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_FUZZ_STEPS", default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub steps: u32,
    /// Users per sequence (each sequence gets fresh ones).
    #[arg(long, env = "SYNCSTORAGE_HARNESS_FUZZ_USERS", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=8))]
    pub users: u32,
    /// Stop generating after this long (`90`, `90s`, `2m`; a running sequence finishes, and
    /// shrinking a failure may run past it by at most the same again).
    #[arg(long, alias = "time-limit", env = "SYNCSTORAGE_HARNESS_TIME_BUDGET", default_value = "60s", value_parser = parse_seconds)]
    pub time_budget: std::time::Duration,
    /// Clients of one user writing at once in a concurrent round (I-04, J-15); 1 generates no
    /// rounds.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_CONCURRENCY", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=32))]
    pub concurrency: u32,
    /// Skip the SPEC area K checks after every step, to measure what they cost.
    #[arg(long)]
    pub no_invariants: bool,
    /// Run the sequence of this regression file once instead of searching.
    #[arg(long, conflicts_with_all = ["seed", "cases", "steps"])]
    pub replay: Option<PathBuf>,
    /// Directory the shrunk sequence of a failure is written to, as a regression file that
    /// `cargo test` replays.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_REGRESSIONS", default_value = "fixtures/regressions")]
    pub regressions: PathBuf,
    /// What to print on stdout.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_FORMAT", value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    /// Write a JUnit XML report here.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_JUNIT")]
    pub junit: Option<PathBuf>,
    /// Write the versioned JSON report here.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_JSON")]
    pub json: Option<PathBuf>,
    /// Write the Markdown report here.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_MARKDOWN")]
    pub markdown: Option<PathBuf>,
}

/// Where the database comes from (SPEC area K).
#[derive(Debug, Args, Clone)]
pub struct DatabaseArgs {
    /// PostgreSQL URL to use instead of starting a throwaway cluster.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Directory holding initdb and postgres (default: PATH, then /usr/lib/postgresql/*/bin).
    #[arg(long, env = "SYNCSTORAGE_HARNESS_PG_BIN_DIR")]
    pub pg_bin_dir: Option<PathBuf>,
    /// Docker image for the container fallback, used only when a Docker engine answers.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_PG_IMAGE", default_value = "postgres")]
    pub pg_image: String,
    /// Tag of --pg-image.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_PG_TAG", default_value = "16-alpine")]
    pub pg_tag: String,
}

impl DatabaseArgs {
    /// Where provisioning takes the database from.
    pub fn provision_options(&self) -> crate::provision::ProvisionOptions {
        crate::provision::ProvisionOptions {
            database_url: self.database_url.clone(),
            local_bin_dir: self.pg_bin_dir.clone(),
            container_image: self.pg_image.clone(),
            container_tag: self.pg_tag.clone(),
            ..crate::provision::ProvisionOptions::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Master secret shared with the token server (default: a random one, printed at start).
    #[arg(long, env = "SYNCSTORAGE_HARNESS_SECRET")]
    pub secret: Option<String>,
    /// Let loopback clients move the server's clock through /__test__/clock.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_TEST_CLOCK")]
    pub test_clock: bool,
    /// Enforce a per-user quota of this many bytes (default: tracked, not enforced).
    #[arg(long, env = "SYNCSTORAGE_HARNESS_QUOTA_LIMIT")]
    pub quota_limit: Option<u64>,
    /// Seconds a batch stays open (at most 7200).
    #[arg(long, env = "SYNCSTORAGE_HARNESS_BATCH_LIFETIME", default_value_t = 7200, value_parser = clap::value_parser!(u64).range(1..=7200))]
    pub batch_lifetime: u64,
    /// Largest accepted clock difference of a Hawk header, in seconds.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_HAWK_SKEW", default_value_t = 60)]
    pub hawk_skew: u64,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Limits published in info/configuration; defaults are syncstorage-rs's.
#[derive(Debug, Args, Clone)]
pub struct LimitArgs {
    #[arg(long, env = "SYNCSTORAGE_HARNESS_MAX_POST_RECORDS", default_value_t = 100)]
    pub max_post_records: u64,
    #[arg(long, env = "SYNCSTORAGE_HARNESS_MAX_POST_BYTES", default_value_t = 2_621_440)]
    pub max_post_bytes: u64,
    #[arg(long, env = "SYNCSTORAGE_HARNESS_MAX_RECORD_PAYLOAD_BYTES", default_value_t = 2_621_440)]
    pub max_record_payload_bytes: u64,
    #[arg(long, env = "SYNCSTORAGE_HARNESS_MAX_REQUEST_BYTES", default_value_t = 2_625_536)]
    pub max_request_bytes: u64,
    #[arg(long, env = "SYNCSTORAGE_HARNESS_MAX_TOTAL_RECORDS", default_value_t = 10_000)]
    pub max_total_records: u64,
    #[arg(long, env = "SYNCSTORAGE_HARNESS_MAX_TOTAL_BYTES", default_value_t = 262_144_000)]
    pub max_total_bytes: u64,
}

impl From<&LimitArgs> for reference_backend::Limits {
    fn from(a: &LimitArgs) -> Self {
        Self {
            max_post_records: a.max_post_records,
            max_post_bytes: a.max_post_bytes,
            max_record_payload_bytes: a.max_record_payload_bytes,
            max_request_bytes: a.max_request_bytes,
            max_total_records: a.max_total_records,
            max_total_bytes: a.max_total_bytes,
        }
    }
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The user id the token is for.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_UID")]
    pub uid: u64,
    /// Master secret of the server the token is for.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_SECRET")]
    pub secret: String,
    /// Storage node URL written into the token.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_NODE", default_value = "http://127.0.0.1:8000")]
    pub node: String,
    /// Seconds until the token expires; 0 or less mints an expired one.
    #[arg(long, env = "SYNCSTORAGE_HARNESS_TOKEN_TTL", default_value_t = 3600, allow_negative_numbers = true)]
    pub ttl: i64,
}

/// `--profile` values; the type itself lives with the Sync vocabulary, free of clap.
impl clap::ValueEnum for crate::sync::Profile {
    fn value_variants<'a>() -> &'a [Self] {
        &[crate::sync::Profile::Spec, crate::sync::Profile::SyncstorageRs]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let help = match self {
            crate::sync::Profile::Spec => "The SPEC rule, everywhere",
            crate::sync::Profile::SyncstorageRs => "The rule, or the clause's \"Compat (syncstorage-rs)\" line, reported as `compat`",
        };
        Some(
            clap::builder::PossibleValue::new(match self {
                crate::sync::Profile::Spec => "spec",
                crate::sync::Profile::SyncstorageRs => "syncstorage-rs",
            })
            .help(help),
        )
    }
}

/// A duration in whole seconds, minutes or hours: `90`, `90s`, `2m`, `1h`.
pub fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits.parse().map_err(|_| format!("`{s}` is not a duration such as 90, 90s, 2m or 1h"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(format!("`{s}`: the unit must be s, m or h")),
    };
    Ok(std::time::Duration::from_secs(n.saturating_mul(scale)))
}
