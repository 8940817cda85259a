//! Reporters that render the finished run once: to stdout, or to a file.

use std::io::Write as _;
use std::path::PathBuf;

use crate::run::{ReportError, Reporter, RunEvent, RunReport};

/// A view of the whole run: the terminal table, JSON, JUnit XML or Markdown.
pub type Render = fn(&RunReport) -> String;

/// Prints the finished run to stdout in one view.
#[derive(Debug)]
pub struct Print(pub Render);

impl Reporter for Print {
    fn event(&mut self, event: &RunEvent<'_>) -> Result<(), ReportError> {
        if let RunEvent::Finished(report) = event {
            let mut out = std::io::stdout().lock();
            out.write_all((self.0)(report).as_bytes())
                .and_then(|()| out.flush())
                .map_err(|source| ReportError { path: PathBuf::from("<stdout>"), source })?;
        }
        Ok(())
    }
}

/// Writes the finished run to a file in one view.
#[derive(Debug)]
pub struct WriteFile {
    pub path: PathBuf,
    pub render: Render,
}

impl Reporter for WriteFile {
    fn event(&mut self, event: &RunEvent<'_>) -> Result<(), ReportError> {
        if let RunEvent::Finished(report) = event {
            std::fs::write(&self.path, (self.render)(report)).map_err(|source| ReportError { path: self.path.clone(), source })?;
        }
        Ok(())
    }
}
