//! Row-level footprints without a database: what `implementation::touch`
//! reads from a statement's SQL, and when two resolved reaches conflict.
//! (Tests may name a system's tables; `src/` may not.)

use tombstone_harness::case::Case;
use tombstone_harness::implementation::touch::{Action, Narrowing, Space, Touch, of_sql};
use tombstone_harness::reach::{Physics, Reach};
use tombstone_harness::system::System;

fn blog() -> System {
    (*System::load("blog").expect("the blog system")).clone()
}

/// A touch that writes no column of an entity (or of a table not declared).
fn touch(space: Space, action: Action, rows: Narrowing) -> Touch {
    let columns = matches!(space, Space::Entity(_)).then(Vec::new);
    Touch {
        space,
        action,
        rows,
        columns,
    }
}

fn columns(names: &[&str]) -> Option<Vec<String>> {
    Some(names.iter().map(|n| n.to_string()).collect())
}

fn equal(pairs: &[(&str, &str)]) -> Narrowing {
    Narrowing::Equal(
        pairs
            .iter()
            .map(|(c, p)| (c.to_string(), p.to_string()))
            .collect(),
    )
}

#[test]
fn a_delete_by_parent_records_the_same_rows() {
    let sql = "WITH d AS (DELETE FROM comments WHERE post_id = :post RETURNING id)
INSERT INTO comments_tombstones (id) SELECT id FROM d";
    assert_eq!(
        of_sql(&blog(), sql),
        vec![
            touch(
                Space::Entity(1),
                Action::Delete,
                equal(&[("post_id", "post")])
            ),
            touch(Space::Tombstones, Action::Insert, Narrowing::Sources),
        ]
    );
}

#[test]
fn an_insert_is_narrowed_by_the_columns_it_gives() {
    let sql = "INSERT INTO comments (id, \"post_id\", BODY) VALUES (:comment, :post, 'hello')";
    assert_eq!(
        of_sql(&blog(), sql),
        vec![Touch {
            columns: columns(&["id", "post_id", "body"]),
            ..touch(
                Space::Entity(1),
                Action::Insert,
                equal(&[("id", "comment"), ("post_id", "post")])
            )
        }]
    );
}

#[test]
fn the_columns_a_statement_writes_are_read_for_its_unique_keys() {
    let blog = blog();
    let written = |sql: &str| {
        let touches = of_sql(&blog, sql);
        let comments = touches.iter().find(|t| t.space == Space::Entity(1));
        comments.expect(sql).columns.clone()
    };
    assert_eq!(
        written("UPDATE comments AS c SET body = 'x', \"Edited\" = now() WHERE c.id = :comment"),
        columns(&["body", "Edited"])
    );
    assert_eq!(
        written("UPDATE comments SET (body, id) = ('x', 1) WHERE id = :comment"),
        None
    );
    assert_eq!(
        written("INSERT INTO comments VALUES (:comment, :post)"),
        None
    );
    assert_eq!(
        written(
            "INSERT INTO comments (id, post_id) VALUES (:comment, :post) ON CONFLICT (id) DO UPDATE SET body = 'x'"
        ),
        None
    );
    assert_eq!(
        written("DELETE FROM comments WHERE id = :comment"),
        columns(&[])
    );
}

#[test]
fn a_lock_with_an_alias_and_a_cast_keeps_its_equality() {
    let sql = "SELECT p.id FROM posts AS p WHERE p.id = :post::int AND true FOR UPDATE";
    assert_eq!(
        of_sql(&blog(), sql),
        vec![touch(
            Space::Entity(0),
            Action::Lock,
            equal(&[("id", "post")])
        )]
    );
}

#[test]
fn what_it_cannot_narrow_reaches_every_row() {
    let blog = blog();
    for sql in [
        "DELETE FROM comments",
        "DELETE FROM comments WHERE id = :comment OR post_id = :post",
        "DELETE FROM comments WHERE body = :comment",
        "UPDATE comments SET post_id = :post WHERE id = :comment",
        "INSERT INTO comments (id, post_id) SELECT :comment, :post",
        "SELECT * FROM comments c, posts p WHERE c.id = :comment",
        "SELECT * FROM posts p JOIN comments c ON true WHERE p.id = :post",
    ] {
        let touches = of_sql(&blog, sql);
        let comments = touches.iter().find(|t| t.space == Space::Entity(1));
        assert_eq!(comments.map(|t| &t.rows), Some(&Narrowing::Every), "{sql}");
    }
}

#[test]
fn tables_the_system_does_not_declare_are_touched_whole() {
    let sql = "INSERT INTO audit_log (what) SELECT id FROM posts WHERE id = :post";
    let touches = of_sql(&blog(), sql);
    assert_eq!(
        touches[0],
        touch(
            Space::Other("audit_log".into()),
            Action::Insert,
            Narrowing::Every
        )
    );
}

fn reach(case: &Case, op: usize, sql: &str) -> Reach {
    let touches = of_sql(&case.system, sql);
    Reach::resolve(
        case,
        &case.operations[op].action,
        &touches,
        Physics::default(),
    )
}

fn blog_case() -> Case {
    let system = System::load("blog").expect("blog");
    Case::parse(
        &system,
        "p1 p2 c1(p1) c2(p2)",
        &[
            "delete-comment comment=c1 post=p1",
            "delete-comment comment=c2 post=p2",
            "add-comment post=p1 comment=c3",
        ],
    )
    .expect("case")
}

#[test]
fn deletes_of_different_rows_commute_and_a_parents_delete_does_not() {
    let case = blog_case();
    let delete = "WITH d AS (DELETE FROM comments WHERE id = :comment RETURNING id)
INSERT INTO comments_tombstones (id) SELECT id FROM d";
    let (one, two) = (reach(&case, 0, delete), reach(&case, 1, delete));
    assert!(!one.conflicts(&two), "{one} vs {two}");
    let post = reach(&case, 0, "DELETE FROM posts WHERE id = :post");
    assert!(post.conflicts(&one), "{post} vs {one}");
    assert!(!post.conflicts(&two), "{post} vs {two}");
}

#[test]
fn an_insert_holds_its_parent_and_is_seen_by_a_delete_of_its_siblings() {
    let case = blog_case();
    let insert = reach(
        &case,
        2,
        "INSERT INTO comments (id, post_id, body) VALUES (:comment, :post, 'x')",
    );
    let siblings = reach(&case, 2, "DELETE FROM comments WHERE post_id = :post");
    assert!(insert.conflicts(&siblings));
    let lock = reach(&case, 2, "SELECT id FROM posts WHERE id = :post FOR UPDATE");
    assert!(insert.conflicts(&lock), "{insert} vs {lock}");
    let other = reach(&case, 1, "SELECT id FROM posts WHERE id = :post FOR UPDATE");
    assert!(!insert.conflicts(&other), "{insert} vs {other}");
}

#[test]
fn reads_commute_and_unknown_conflicts() {
    let case = blog_case();
    let read = reach(&case, 0, "SELECT 1 FROM comments WHERE id = :comment");
    assert!(!read.conflicts(&read.clone()));
    let all = reach(&case, 1, "DELETE FROM comments");
    assert!(all.conflicts(&read));
    assert!(Reach::everything().conflicts(&Reach::default()));
}

/// Recording the same row twice: the inserts conflict unless the case may
/// assume tombstone inserts commute; two autocommit locks on one row
/// conflict unless no lock can outlive its statement; `ON CONFLICT` always
/// orders.
#[test]
fn physics_decides_about_appends_and_locks() {
    let case = blog_case();
    let with = |physics: Physics, sql: &str| {
        let touches = of_sql(&case.system, sql);
        Reach::resolve(&case, &case.operations[0].action, &touches, physics)
    };
    let record = "INSERT INTO comments_tombstones (id) SELECT id FROM comments WHERE id = :comment";
    let lock = "SELECT id FROM comments WHERE id = :comment FOR UPDATE";
    let strict = Physics::default();
    let loose = Physics {
        appends_commute: true,
        locks_are_reads: true,
    };
    assert!(with(strict, record).conflicts(&with(strict, record)));
    assert!(!with(loose, record).conflicts(&with(loose, record)));
    assert!(with(strict, lock).conflicts(&with(strict, lock)));
    assert!(!with(loose, lock).conflicts(&with(loose, lock)));
    let upsert = "INSERT INTO comments_tombstones (id) SELECT id FROM comments WHERE id = :comment ON CONFLICT DO NOTHING";
    assert!(with(loose, upsert).conflicts(&with(loose, record)));
    let check = "SELECT 1 FROM comments_tombstones WHERE id = :comment";
    assert!(with(loose, check).conflicts(&with(loose, record)));
}
