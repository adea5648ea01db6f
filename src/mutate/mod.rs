//! Mutants of an implementation: the same file with one plausible mistake
//! made in it (a lock dropped, a delete split from its record, a condition
//! lost, a transaction shortened), to ask whether the hunt notices. Pure text
//! transformations of the implementation's TOML and its SQL; every mutant is
//! a file that validates, named `<original>~<id>`.
//!
//! Owns: the operators (`operators`) and the SQL splitting they rest on
//! (`sql`), both pure; running one mutant until something kills it, or
//! proving it equivalent on the shipped scenarios (`run`); the hand-written
//! corpus's manifest (`corpus`). Must not know: printing, exit codes.

pub mod corpus;
mod operators;
mod run;
mod sql;

pub use run::{
    Baseline, Fate, Kill, KilledBy, MutateConfig, MutateError, Stage, kill, kill_on, run_mutant,
};

use crate::implementation::Implementation;
use crate::system::System;
use std::collections::HashSet;
use std::fmt;

/// One kind of mistake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operator {
    /// A locking clause (`FOR UPDATE`, `FOR SHARE`, …) removed.
    DropForUpdate,
    /// `WITH d AS (DELETE …) INSERT … FROM d` as a record step, then a
    /// delete step.
    SplitRecordDelete,
    /// The operation's transaction removed: every step commits alone.
    Autocommit,
    /// The transaction begins one step later.
    ShrinkTransaction,
    /// Two neighbouring steps in the other order.
    SwapSteps,
    /// One `AND` conjunct of a `WHERE` removed.
    DropConjunct,
    /// A column the system requires of every tombstone left out of the
    /// record, or given another value.
    DropRequired,
    /// The recorded key missing a field (shared layout) or a column
    /// (per-table layout), or a field under another name.
    DropKeyField,
    /// A rule mapping 0 rows to an outcome removed.
    DropRowsRule,
}

impl Operator {
    pub const ALL: [Operator; 9] = [
        Operator::DropForUpdate,
        Operator::SplitRecordDelete,
        Operator::Autocommit,
        Operator::ShrinkTransaction,
        Operator::SwapSteps,
        Operator::DropConjunct,
        Operator::DropRequired,
        Operator::DropKeyField,
        Operator::DropRowsRule,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operator::DropForUpdate => "drop-for-update",
            Operator::SplitRecordDelete => "split-record-delete",
            Operator::Autocommit => "autocommit",
            Operator::ShrinkTransaction => "shrink-transaction",
            Operator::SwapSteps => "swap-steps",
            Operator::DropConjunct => "drop-conjunct",
            Operator::DropRequired => "drop-required",
            Operator::DropKeyField => "drop-key-field",
            Operator::DropRowsRule => "drop-rows-rule",
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One mutant: what changed, where, and the whole mutated file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mutant {
    /// Unique within one implementation, and the same for the same file:
    /// `sign-out/2/drop-for-update`, `delete-user/autocommit`.
    pub id: String,
    pub operator: Operator,
    pub operation: String,
    /// The step the change is in, when it is in one.
    pub step: Option<String>,
    /// The changed SQL fragment or field, on one line and cut short.
    pub before: String,
    /// The same after the change; empty when it was removed.
    pub after: String,
    /// The mutated implementation file, named `<original>~<id>`.
    pub source: String,
}

/// Every mutant of `implementation`, in a fixed order: operation by
/// operation, operator by operator, in text order within. A change that
/// would not validate, that changes nothing, or that another change already
/// made, gives none.
pub fn mutants(system: &System, implementation: &Implementation) -> Vec<Mutant> {
    let Ok(file) = toml::from_str::<toml::Table>(&implementation.source) else {
        return Vec::new();
    };
    // Files are compared as serialized, so a change is told apart from the
    // original by content, not by the spelling of the source.
    let mut seen: HashSet<String> = toml::to_string(&file).into_iter().collect();
    let mut ids: HashSet<String> = HashSet::new();
    let mut found = Vec::new();
    for change in operators::changes(system, &file) {
        let Ok(body) = toml::to_string(&change.file) else {
            continue;
        };
        if seen.contains(&body) {
            continue;
        }
        let id = unique(&ids, &change.id);
        let name = format!("{}~{id}", implementation.name);
        let mut named = change.file;
        named.insert("name".into(), toml::Value::String(name.clone()));
        let Ok(source) = toml::to_string(&named) else {
            continue;
        };
        if Implementation::parse(system, &name, &source).is_err() {
            continue;
        }
        seen.insert(body);
        ids.insert(id.clone());
        found.push(Mutant {
            id,
            operator: change.operator,
            operation: change.operation,
            step: change.step,
            before: change.before,
            after: change.after,
            source,
        });
    }
    found
}

/// `id`, or `id/2`, `id/3` … when a change at the same place came first.
fn unique(taken: &HashSet<String>, id: &str) -> String {
    if !taken.contains(id) {
        return id.to_string();
    }
    (2..)
        .map(|n| format!("{id}/{n}"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_default()
}

/// A fragment of a file on one line: blanks collapsed, cut at ~100
/// characters.
fn excerpt(text: &str) -> String {
    const LENGTH_MAX: usize = 100;
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= LENGTH_MAX {
        return line;
    }
    let mut cut: String = line.chars().take(LENGTH_MAX - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn stack_auth(name: &str) -> (Arc<System>, Vec<Mutant>) {
        let system = System::load("stack-auth").unwrap();
        let implementation = Implementation::load(&system, name).unwrap();
        let found = mutants(&system, &implementation);
        (system, found)
    }

    fn step_sql(mutant: &Mutant, system: &System, operation: &str) -> Vec<String> {
        let implementation = Implementation::parse(system, &mutant.id, &mutant.source).unwrap();
        let raw: toml::Table = toml::from_str(&mutant.source).unwrap();
        let steps = raw["operations"][operation]["steps"].as_array().unwrap();
        assert_eq!(
            steps.len(),
            implementation.operations[operation].steps.len()
        );
        steps
            .iter()
            .map(|s| s["sql"].as_str().unwrap().trim().to_string())
            .collect()
    }

    fn token_table(system: &System) -> &str {
        &system.entities[system.entity("token").unwrap()].table
    }

    fn find<'m>(found: &'m [Mutant], id: &str) -> &'m Mutant {
        found.iter().find(|m| m.id == id).unwrap_or_else(|| {
            let ids: Vec<&str> = found.iter().map(|m| m.id.as_str()).collect();
            panic!("no mutant {id} among {ids:?}")
        })
    }

    #[test]
    fn every_shipped_implementation_has_valid_distinct_mutants() {
        for name in System::shipped_names() {
            let system = System::load(name).unwrap();
            for implementation in Implementation::shipped(&system).unwrap() {
                let found = mutants(&system, &implementation);
                assert!(!found.is_empty(), "{}", implementation.name);
                let original: toml::Table = toml::from_str(&implementation.source).unwrap();
                let mut ids = HashSet::new();
                let mut bodies = HashSet::from([toml::to_string(&original).unwrap()]);
                for mutant in &found {
                    let parsed = Implementation::parse(&system, &mutant.id, &mutant.source)
                        .unwrap_or_else(|e| panic!("{}: {e}", mutant.id));
                    assert_eq!(
                        parsed.name,
                        format!("{}~{}", implementation.name, mutant.id)
                    );
                    assert!(ids.insert(mutant.id.clone()), "{} twice", mutant.id);
                    let mut body: toml::Table = toml::from_str(&mutant.source).unwrap();
                    body.insert("name".into(), original["name"].clone());
                    let body = toml::to_string(&body).unwrap();
                    assert!(bodies.insert(body), "{} repeats another file", mutant.id);
                    assert!(
                        !mutant.before.contains('\n') && !mutant.after.contains('\n'),
                        "{}",
                        mutant.id
                    );
                    assert!(mutant.id.starts_with(&format!("{}/", mutant.operation)));
                    assert!(mutant.id.contains(mutant.operator.name()), "{}", mutant.id);
                }
                let again = mutants(&system, &implementation);
                assert_eq!(found, again, "the order is fixed");
            }
        }
    }

    #[test]
    fn atomic_sign_out_splits_into_record_then_delete() {
        let (system, found) = stack_auth("atomic");
        let mutant = find(&found, "sign-out/1/split-record-delete");
        assert_eq!(mutant.operator, Operator::SplitRecordDelete);
        assert_eq!(mutant.step.as_deref(), Some("delete and record token"));
        // Table names come from the system: no Rust code names them.
        let (record, tokens) = (&system.tombstone_tables()[0], token_table(&system));
        assert_eq!(
            step_sql(mutant, &system, "sign-out"),
            vec![
                format!(
                    r#"INSERT INTO "{record}" ("id", "tenancyId", "tableName", "primaryKey", "data", "deletedAt", "shouldUpdateSequenceId") SELECT gen_random_uuid(), d."tenancyId", '{tokens}', jsonb_build_object('tenancyId', d."tenancyId", 'id', d."id"), to_jsonb(d.*), now(), true FROM (SELECT * FROM "{tokens}" WHERE "tenancyId" = :tenancy AND "id" = :token) d"#
                ),
                format!(r#"DELETE FROM "{tokens}" WHERE "tenancyId" = :tenancy AND "id" = :token"#),
            ]
        );
        let parsed = Implementation::parse(&system, "x", &mutant.source).unwrap();
        let steps = &parsed.operations["sign-out"].steps;
        assert_eq!(steps[0].name, "delete and record token (record)");
        assert_eq!(steps[0].on_rows.len(), 1, "the record keeps the rules");
        assert_eq!(steps[1].name, "delete and record token (delete)");
        assert!(steps[1].on_rows.is_empty() && steps[1].on_error.is_empty());
    }

    #[test]
    fn a_split_step_that_began_the_transaction_still_begins_it() {
        let (system, found) = stack_auth("atomic");
        let mutant = find(&found, "delete-team/2/split-record-delete");
        let parsed = Implementation::parse(&system, "x", &mutant.source).unwrap();
        let script = &parsed.operations["delete-team"];
        assert_eq!(script.transaction_from, Some(1));
        assert_eq!(script.steps[1].name, "delete and record members (record)");
    }

    #[test]
    fn atomic_required_column_and_key_fields() {
        let (system, found) = stack_auth("atomic");
        let negated = find(
            &found,
            "sign-out/1/drop-required/shouldUpdateSequenceId/negated",
        );
        assert_eq!(negated.operator, Operator::DropRequired);
        assert!(step_sql(negated, &system, "sign-out")[0].contains("now(), NOT (true) FROM d"));
        let dropped = find(&found, "sign-out/1/drop-required/shouldUpdateSequenceId");
        let sql = &step_sql(dropped, &system, "sign-out")[0];
        assert!(!sql.contains("shouldUpdateSequenceId") && sql.ends_with("now() FROM d"));

        for key in ["tenancyId", "id"] {
            let mutant = find(&found, &format!("sign-out/1/drop-key-field/{key}"));
            assert_eq!(mutant.operator, Operator::DropKeyField);
            assert!(
                !mutant.after.contains(&format!("'{key}'")),
                "{}",
                mutant.after
            );
        }
        let renamed = find(&found, "sign-out/1/drop-key-field/rename-tenancyId");
        assert_eq!(
            renamed.after,
            r#""primaryKey" = jsonb_build_object('tenancyIdx', d."tenancyId", 'id', d."id")"#
        );
    }

    #[test]
    fn atomic_conjuncts_and_transactions() {
        let (system, found) = stack_auth("atomic");
        let dropped = found
            .iter()
            .find(|m| {
                m.operator == Operator::DropConjunct
                    && m.operation == "sign-out"
                    && m.before == r#""tenancyId" = :tenancy"#
            })
            .expect("a drop-conjunct of the tenancy");
        let tokens = token_table(&system);
        assert!(
            step_sql(dropped, &system, "sign-out")[0].starts_with(&format!(
                r#"WITH d AS (DELETE FROM "{tokens}" WHERE "id" = :token RETURNING *)"#
            ))
        );

        let autocommit = find(&found, "change-password/autocommit");
        let parsed = Implementation::parse(&system, "x", &autocommit.source).unwrap();
        assert_eq!(parsed.operations["change-password"].transaction_from, None);
        assert_eq!(
            autocommit.before,
            r#"transaction_from = "update password hash""#
        );
        assert_eq!(autocommit.after, "");
    }

    #[test]
    fn post_1466_loses_its_row_locks() {
        let (system, found) = stack_auth("stack-auth-post-1466");
        let mutant = find(&found, "sign-out/1/drop-for-update");
        assert_eq!(
            (mutant.before.as_str(), mutant.after.as_str()),
            ("FOR UPDATE", "")
        );
        let sql = &step_sql(mutant, &system, "sign-out")[0];
        assert!(sql.ends_with(r#"t."id" = :token"#), "{sql}");
    }

    #[test]
    fn per_table_keys_become_null() {
        let system = System::load("blog").unwrap();
        let implementation = Implementation::load(&system, "blog-fixed").unwrap();
        let found = mutants(&system, &implementation);
        let mutant = find(&found, "delete-comment/1/drop-key-field/id");
        assert_eq!(mutant.after, "id = NULL");
        let raw: toml::Table = toml::from_str(&mutant.source).unwrap();
        let sql = raw["operations"]["delete-comment"]["steps"][0]["sql"]
            .as_str()
            .unwrap();
        assert!(sql.trim_end().ends_with("SELECT NULL FROM d"), "{sql}");
    }

    #[test]
    fn swaps_keep_the_transaction_where_it_began() {
        let (system, found) = stack_auth("atomic");
        let mutant = find(&found, "change-password/1-2/swap-steps");
        let parsed = Implementation::parse(&system, "x", &mutant.source).unwrap();
        let script = &parsed.operations["change-password"];
        assert_eq!(script.transaction_from, Some(0));
        assert_eq!(script.steps[0].name, "delete and record other tokens");
    }

    #[test]
    fn a_swap_that_breaks_a_bind_is_not_a_mutant() {
        let system = System::load("shop").unwrap();
        let implementation = Implementation::load(&system, "shop-fixed").unwrap();
        let found = mutants(&system, &implementation);
        assert!(!found.iter().any(|m| m.id == "cancel-order/1-2/swap-steps"));
        assert!(
            !found
                .iter()
                .any(|m| m.operator == Operator::SplitRecordDelete)
        );
    }

    #[test]
    fn excerpts_are_one_short_line() {
        assert_eq!(excerpt("  a\n   b  "), "a b");
        let long = excerpt(&"x ".repeat(80));
        assert_eq!(long.chars().count(), 100);
        assert!(long.ends_with('…'));
    }
}
