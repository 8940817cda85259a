//! Seeds derived from the run's one seed, so that every random choice of a run can be replayed.

/// 64-bit FNV-1a: a hash that stays the same across Rust versions and platforms.
pub(crate) fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// splitmix64's finaliser, to spread the bits of a combined seed.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of one case: the run seed and the case's clause and title, nothing positional.
pub fn case_seed(run_seed: u64, clause: &str, title: &str) -> u64 {
    mix(run_seed ^ fnv1a(&[clause, title]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_seeds_depend_on_identity_not_position() {
        assert_eq!(case_seed(1, "E-11", "t"), case_seed(1, "E-11", "t"));
        assert_ne!(case_seed(1, "E-11", "t"), case_seed(2, "E-11", "t"));
        assert_ne!(case_seed(1, "E-11", "t"), case_seed(1, "E-12", "t"));
        assert_ne!(case_seed(1, "E-1", "1t"), case_seed(1, "E-11", "t"), "fields are separated");
    }
}
