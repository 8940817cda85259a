//! One stream of events per run, which every reporter consumes (the design of nextest's
//! reporters): the run starts, each check finishes, the run finishes with its whole report.
//! Conformance emits them today; fuzz and load runs emit the same stream, so the terminal, JSON,
//! JUnit and Markdown reporters serve all of them.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use crate::run::{CaseReport, RunReport, TargetSummary};

/// What happened in a run.
#[derive(Debug, Clone, Copy)]
pub enum RunEvent<'a> {
    /// The targets were probed and `checks` checks are about to run.
    Started { seed: u64, uid_range: [u64; 2], targets: &'a [TargetSummary], checks: usize },
    /// One check finished (in completion order, which parallel runs do not fix).
    CheckFinished(&'a CaseReport),
    /// The run finished; its report, checks in catalog order.
    Finished(&'a RunReport),
}

/// A reporter could not write its output.
#[derive(Debug, thiserror::Error)]
#[error("write the report to {path}: {source}")]
pub struct ReportError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Something that turns run events into output.
pub trait Reporter: Send {
    fn event(&mut self, event: &RunEvent<'_>) -> Result<(), ReportError>;
}

/// The reporters of one run. Events may come from several tasks at once; each reaches every
/// reporter in turn. The first error is kept and later reporters still see the event.
pub struct Events {
    reporters: Mutex<Vec<Box<dyn Reporter>>>,
    error: Mutex<Option<ReportError>>,
}

impl Events {
    pub fn new(reporters: Vec<Box<dyn Reporter>>) -> Self {
        Self { reporters: Mutex::new(reporters), error: Mutex::new(None) }
    }

    pub fn emit(&self, event: &RunEvent<'_>) {
        let mut reporters = self.reporters.lock().unwrap_or_else(PoisonError::into_inner);
        for r in reporters.iter_mut() {
            if let Err(e) = r.event(event) {
                self.error.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(e);
            }
        }
    }

    /// The first error a reporter met, if any.
    pub fn take_error(&self) -> Option<ReportError> {
        self.error.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Events")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    struct Seen(Arc<Mutex<Vec<&'static str>>>, bool);

    impl Reporter for Seen {
        fn event(&mut self, event: &RunEvent<'_>) -> Result<(), ReportError> {
            let name = match event {
                RunEvent::Started { .. } => "started",
                RunEvent::CheckFinished(_) => "check",
                RunEvent::Finished(_) => "finished",
            };
            self.0.lock().unwrap().push(name);
            if self.1 {
                return Err(ReportError { path: PathBuf::from("x"), source: std::io::Error::other("full") });
            }
            Ok(())
        }
    }

    #[test]
    fn every_reporter_sees_every_event_and_the_first_error_is_kept() {
        let (a, b) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
        let events = Events::new(vec![Box::new(Seen(a.clone(), true)), Box::new(Seen(b.clone(), false))]);
        events.emit(&RunEvent::Started { seed: 1, uid_range: [1, 2], targets: &[], checks: 0 });
        events.emit(&RunEvent::Started { seed: 1, uid_range: [1, 2], targets: &[], checks: 0 });
        assert_eq!(*a.lock().unwrap(), ["started", "started"]);
        assert_eq!(*b.lock().unwrap(), ["started", "started"], "a failing reporter does not stop the others");
        assert!(events.take_error().is_some());
        assert!(events.take_error().is_none());
    }
}
