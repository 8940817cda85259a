//! Counts of the write refusals a run met and what the client did about them.

/// Write refusals (409, or 503 with Retry-After) a case met, and what became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Refusals {
    /// 409 answers.
    pub conflict: u32,
    /// 503 answers with Retry-After.
    pub unavailable: u32,
    /// Refused writes sent again.
    pub retried: u32,
    /// Writes still refused when the retry policy or the case deadline ran out.
    pub gave_up: u32,
    /// Not a refusal: requests sent again on a new connection because the server had closed the
    /// kept-alive one without `Connection: close` and without answering.
    pub resent_on_new_connection: u32,
}

impl Refusals {
    pub fn is_empty(&self) -> bool {
        *self == Refusals::default()
    }

    pub fn add(&mut self, other: &Refusals) {
        self.conflict += other.conflict;
        self.unavailable += other.unavailable;
        self.retried += other.retried;
        self.gave_up += other.gave_up;
        self.resent_on_new_connection += other.resent_on_new_connection;
    }

    /// Refusals met where no retry applies (the I-04 case that judges them sends each write once).
    pub fn not_retried(&self) -> u32 {
        (self.conflict + self.unavailable).saturating_sub(self.retried + self.gave_up)
    }
}
