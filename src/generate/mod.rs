//! Generation and shrinking with proptest: the only user of proptest in `src/`.
//! `strategy` makes cases; `hunt` runs them through the engine and shrinks a
//! failure to a minimal case that violates the same thing.

mod hunt;
mod shrink;
mod strategy;

pub use hunt::{Found, Hunt, HuntError, Target, run_scripted, shrink_tree, simplify};
pub use strategy::{Bounds, BoundsError, CaseSeed, OperationSeed, case_seed};
