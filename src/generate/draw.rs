//! Drawing case number `n` of a stress run seeded `seed`: the same case
//! every time from `(seed, n)` alone, as a value tree so a finding can be
//! shrunk. Here because `generate` is the only user of proptest.

use super::strategy::{Bounds, CaseSeed, case_seed};
use crate::system::System;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::sync::Arc;

/// The seed of case number `n` of a run seeded `seed`: a fixed mix, so a
/// case can be re-drawn from `(seed, n)` alone.
pub fn case_seed_of(seed: u64, n: u64) -> [u8; 32] {
    let mut state = seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    bytes
}

/// Case number `n`'s value tree (for shrinking) under `bounds`.
pub fn draw(
    seed: u64,
    n: u64,
    bounds: Bounds,
    system: &Arc<System>,
    kinds: &[String],
) -> Box<dyn ValueTree<Value = CaseSeed>> {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &case_seed_of(seed, n));
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let tree = case_seed(bounds, system.clone(), kinds)
        .expect("StressConfig.bounds must pass Bounds::validate (the CLI uses the default)")
        .new_tree(&mut runner)
        .expect("case strategies never reject");
    Box::new(tree)
}

/// Case number `n` itself, unshrunk.
pub fn drawn(
    seed: u64,
    n: u64,
    bounds: Bounds,
    system: &Arc<System>,
    kinds: &[String],
) -> CaseSeed {
    draw(seed, n, bounds, system, kinds).current()
}
