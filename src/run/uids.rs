//! The uids a run owns. A run writes only as these users and deletes their data afterwards.

/// The uids a run owns: the first one probes the target, then each case of the catalog owns a
/// block of [`UIDS_PER_CASE`] at a place fixed by its position in the whole catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct UidPlan {
    pub first: u64,
    /// How many case blocks the plan holds (the size of the whole catalog).
    pub slots: usize,
}

/// Users a case may create.
pub const UIDS_PER_CASE: u64 = 50;

impl UidPlan {
    pub fn probe(&self) -> u64 {
        self.first
    }

    /// The block of catalog slot `slot`.
    pub fn block(&self, slot: usize) -> std::ops::Range<u64> {
        let start = self.first + 1 + slot as u64 * UIDS_PER_CASE;
        start..start + UIDS_PER_CASE
    }

    /// One past the last uid of the plan.
    pub fn end(&self) -> u64 {
        self.first + 1 + self.slots as u64 * UIDS_PER_CASE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_blocks_do_not_overlap_and_fit_the_default_step() {
        let plan = UidPlan { first: 9_000_000_000, slots: 300 };
        assert_eq!(plan.probe(), 9_000_000_000);
        assert_eq!(plan.block(0).start, 9_000_000_001);
        assert_eq!(plan.block(0).end, plan.block(1).start);
        assert_eq!(plan.block(299).end, plan.end());
        assert!(plan.end() - plan.first <= 20_000);
    }
}
