//! Generation and shrinking with proptest: the only user of proptest in `src/`.
//! `strategy` makes cases; `draw` draws stress's numbered cases; `hunt` runs
//! them through the engine and shrinks a failure to a minimal case that
//! violates the same thing; `parallel` splits a hunt's numbered cases over
//! several engines.

mod draw;
mod hunt;
mod parallel;
mod shrink;
mod strategy;

pub use draw::{case_seed_of, draw, drawn};
pub use hunt::{Found, Hunt, HuntError, Target, judge_for, run_scripted, shrink_tree, simplify};
pub use strategy::{Bounds, BoundsError, CaseSeed, OperationSeed, case_seed};
