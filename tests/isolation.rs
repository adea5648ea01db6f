//! Tests running at the same time never see each other's rows: each gets its
//! own database from the one server of the process.

mod common;

use std::sync::Arc;
use tokio::sync::Barrier;
use tombstone_harness::chooser::Serial;
use tombstone_harness::world::parse_label;

/// Two engines on two databases, forced to overlap by a barrier between each
/// step of the exchange: each sees exactly its own world and tombstones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tests_see_only_their_own_rows() {
    let barrier = Arc::new(Barrier::new(2));
    let run = |user: u16, barrier: Arc<Barrier>| async move {
        let (_database, mut engine) = common::engine().await;
        let world = format!("u{user} t{user}(u{user})");
        let implementation = common::implementation("stack-auth-post-1466");
        let mut seen = Vec::new();
        for _ in 0..5 {
            barrier.wait().await;
            let case = common::case(&world, &[&format!("sign-out token=t{user} user=u{user}")]);
            let history = engine
                .run(&case, &implementation, &mut Serial::default())
                .await
                .unwrap();
            seen.push((
                history.snapshot.live.clone(),
                history
                    .snapshot
                    .tombstones
                    .iter()
                    .map(|t| t.row.clone())
                    .collect::<Vec<_>>(),
            ));
        }
        (user, seen)
    };
    let (a, b) = tokio::join!(
        tokio::spawn(run(1, barrier.clone())),
        tokio::spawn(run(2, barrier))
    );
    let system = common::stack();
    for (user, seen) in [a.unwrap(), b.unwrap()] {
        let user_row = parse_label(&system, &format!("u{user}")).unwrap();
        let token_row = parse_label(&system, &format!("t{user}")).unwrap();
        for (live, tombstones) in seen {
            assert_eq!(live.into_iter().collect::<Vec<_>>(), vec![user_row.clone()]);
            assert_eq!(tombstones, vec![token_row.clone()]);
        }
    }
}
