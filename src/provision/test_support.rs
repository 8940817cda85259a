//! What the provision tests share: tracing captured per test.

pub(crate) fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "syncstorage_harness=debug".into()))
        .with_test_writer()
        .try_init();
}
