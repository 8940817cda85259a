//! The `syncstorage-harness` binary: parses the command line and runs one subcommand.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Parser;
use syncstorage_harness::cli::{Cli, Command, ConformanceArgs, DatabaseArgs, ServeArgs, TokenArgs};
use syncstorage_harness::provision::{self, ProvisionOptions};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` narrates its start-up; the other subcommands keep the terminal for their reports.
    let default_level = if matches!(cli.command, Command::Serve(_)) { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)))
        .with_writer(std::io::stderr)
        .with_ansi(colour_logs())
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return ExitCode::from(syncstorage_harness::exit::SETUP_ERROR);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Token(args) => token(&args),
            Command::Conformance(args) => conformance(&args).await,
            Command::Fuzz(args) => Ok(syncstorage_harness::fuzz::session::run(&args).await?),
            Command::Invariants(args) => invariants(&args).await,
        }
    });
    provision::cleanup_all();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: failed to {}", describe(&e));
            ExitCode::from(syncstorage_harness::exit::SETUP_ERROR)
        }
    }
}

/// Colour codes only on a terminal, and never when `NO_COLOR` is set (https://no-color.org).
fn colour_logs() -> bool {
    use std::io::IsTerminal as _;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The error and its causes, each said once: our messages often already include their cause.
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn provision_options(db: &DatabaseArgs) -> ProvisionOptions {
    ProvisionOptions {
        database_url: db.database_url.clone(),
        local_bin_dir: db.pg_bin_dir.clone(),
        container_image: db.pg_image.clone(),
        container_tag: db.pg_tag.clone(),
        ..ProvisionOptions::default()
    }
}

fn random_secret() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn serve(args: ServeArgs) -> anyhow::Result<u8> {
    let pg = provision::provision(&provision_options(&args.database)).await.context("provision PostgreSQL")?;
    tracing::info!(kind = %pg.kind(), "database ready");
    let secret = args.secret.clone().unwrap_or_else(random_secret);
    let mut config = reference_backend::Config::new(secret.clone());
    config.limits = (&args.limits).into();
    config.quota_limit = args.quota_limit;
    config.test_clock = args.test_clock;
    config.batch_lifetime = Duration::from_secs(args.batch_lifetime);
    config.hawk_skew = Duration::from_secs(args.hawk_skew);
    let mut server = provision::start_reference(config, pg.url(), args.listen).await?;
    println!("serving Sync 1.5 storage at {}", server.url());
    println!("master secret: {secret}");
    if args.test_clock {
        println!("test clock: POST {}/__test__/clock {{\"advance_ms\": N}}", server.url());
    }
    println!("press Ctrl-C to stop");
    let stop = tokio::select! {
        res = tokio::signal::ctrl_c() => res.context("listen for Ctrl-C").map(|()| true)?,
        res = server.wait() => res.context("serve HTTP").map(|()| false)?,
    };
    if stop {
        eprintln!("stopping");
        server.shutdown().await.context("stop the server")?;
    }
    drop(pg);
    Ok(syncstorage_harness::exit::OK)
}

async fn conformance(args: &ConformanceArgs) -> anyhow::Result<u8> {
    if args.list {
        print!("{}", syncstorage_harness::conformance::session::list(args));
        return Ok(syncstorage_harness::exit::OK);
    }
    Ok(syncstorage_harness::conformance::session::run(args).await?)
}

fn token(args: &TokenArgs) -> anyhow::Result<u8> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).context("read the system clock")?.as_secs();
    let expires = now.saturating_add_signed(args.ttl);
    let salt = random_secret()[..6].to_owned();
    let payload = syncstorage_tokenlib::TokenPayload::new(args.uid, args.node.clone(), expires, salt);
    let creds = syncstorage_tokenlib::mint(&args.secret, &payload);
    let out = serde_json::json!({
        "id": creds.id,
        "key": creds.key,
        "uid": args.uid,
        "api_endpoint": format!("{}/1.5/{}", args.node.trim_end_matches('/'), args.uid),
        "expires": expires,
        "hashalg": "sha256",
    });
    println!("{}", serde_json::to_string_pretty(&out).context("format the token")?);
    Ok(syncstorage_harness::exit::OK)
}

/// `invariants`: prints each invariant's verdict; exit 2 when any is violated.
async fn invariants(args: &syncstorage_harness::cli::InvariantsArgs) -> anyhow::Result<u8> {
    use syncstorage_harness::cli::Totals;
    let totals = match args.totals {
        Totals::Auto => None,
        Totals::On => Some(true),
        Totals::Off => Some(false),
    };
    let audit = syncstorage_harness::invariants::audit(&args.database_url, args.users.clone(), totals, args.sample).await?;
    print!("{}", audit.render());
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&audit)?;
        std::fs::write(path, text + "\n").map_err(|e| anyhow::anyhow!("write {}: {e}", path.display()))?;
    }
    Ok(if audit.clean() { syncstorage_harness::exit::OK } else { syncstorage_harness::exit::INVARIANT_VIOLATED })
}
