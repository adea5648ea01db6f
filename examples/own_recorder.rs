//! Hunting a recorder from your own code: the shipped blog system's buggy
//! recorder is caught (and its shrunk story printed), the fixed one passes.
//! Run it with `cargo run --example own_recorder` (PostgreSQL as for the
//! command line: a throwaway local cluster, a container, or DATABASE_URL).

use tombstone_harness::harness::Harness;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let buggy = Harness::new("blog")
        .implementation("blog-buggy")
        .cases(300)
        .seed(1)
        .hunt()?;
    println!("{buggy}");
    // Two databases at once: the same verdict as one, in less time.
    let fixed = Harness::new("blog")
        .implementation("blog-fixed")
        .cases(100)
        .seed(1)
        .jobs(2)
        .hunt()?;
    println!("{fixed}");
    if buggy.is_clean() || !fixed.is_clean() {
        return Err("expected the buggy recorder caught and the fixed one clean".into());
    }
    Ok(())
}
