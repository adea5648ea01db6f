//! What one operation of a serial run did, kept for other cases.
//!
//! A stress run draws a new case every time and drawn cases rarely repeat,
//! but the situations their operations meet do: signing out a live token of
//! a live user is the same whichever numbers the two rows carry. So a
//! situation is keyed by the operation, its scope (`footprint`) and the live
//! rows in that scope, with every row number replaced by its rank among the
//! numbers of its entity that appear there. Ranks keep which rows are the
//! same and their order, and so the order of the identities derived from
//! them. A serial run whose every operation meets a situation seen before is
//! put together without the database.
//!
//! This rests on what the footprints already promise (an operation alone
//! reads and writes only its scope) and on a row's values being functions
//! of its key and parents (the system's column templates) that compare as
//! the numbers do. A run that changes a row outside an operation's scope
//! says the footprints are wrong: the caller stops keeping anything.
//! Must not know: how runs are made.

use super::footprint::Scope;
use crate::case::Case;
use crate::history::OperationResult;
use crate::reach::Rows;
use crate::world::RowKey;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Every row a case can hold, with its parents (the world's rows and those
/// its operations create).
pub(super) type Parents = BTreeMap<RowKey, Vec<RowKey>>;

pub(super) fn parents(case: &Case) -> Parents {
    case.all_rows()
        .into_iter()
        .map(|row| (row.key, row.parents))
        .collect()
}

/// One operation about to run alone, as other cases may meet it.
pub(super) struct Situation<'s> {
    pub(super) key: u128,
    /// Per entity, the row numbers that appear in the situation, ascending:
    /// rank `i` stands for `numbers[&entity][i]`.
    numbers: BTreeMap<usize, Vec<u16>>,
    scope: &'s Scope,
}

/// What an operation did in a situation: its result, and the live rows of
/// its scope after it, by entity and rank.
#[derive(Clone, Debug)]
pub(super) struct Transition {
    result: OperationResult,
    after: Vec<(usize, u16)>,
}

/// What one operation of a run made on the database leaves for others.
pub(super) enum Learned {
    Kept(Transition),
    /// Right, but not for other cases: a result whose text may name this
    /// case's rows, or a row the ranks cannot name.
    NotKept,
    /// A row outside the operation's scope changed: the footprints missed
    /// something (a function the SQL calls, a statement read wrongly).
    Contradicts,
}

impl<'s> Situation<'s> {
    /// Operation `operation` of `case` about to run with `live` the live
    /// rows; `reference` names the implementation that runs it.
    pub(super) fn of(
        case: &Case,
        reference: &str,
        operation: usize,
        scope: &'s Scope,
        live: &BTreeSet<RowKey>,
        parents: &Parents,
    ) -> Situation<'s> {
        let action = &case.operations[operation].action;
        let seen: Vec<&RowKey> = live.iter().filter(|k| scope.contains(k)).collect();
        let no_parents = Vec::new();
        let parents_of = |row: &RowKey| parents.get(row).unwrap_or(&no_parents);
        let mut numbers: BTreeMap<usize, BTreeSet<u16>> = BTreeMap::new();
        let mut note = |row: &RowKey| {
            numbers.entry(row.entity).or_default().insert(row.number);
        };
        action.arguments.iter().for_each(&mut note);
        for rows in scope.rows.values() {
            if let Rows::Some(keys) = rows {
                keys.iter().for_each(&mut note);
            }
        }
        for row in &seen {
            note(row);
            parents_of(row).iter().for_each(&mut note);
        }
        let numbers: BTreeMap<usize, Vec<u16>> = numbers
            .into_iter()
            .map(|(entity, set)| (entity, set.into_iter().collect()))
            .collect();
        let mut situation = Situation {
            key: 0,
            numbers,
            scope,
        };
        let ranked = |row: &RowKey| {
            let rank = situation.rank(row).expect("every row of the key was noted");
            format!("{}/{rank}", row.entity)
        };
        let mut text = format!("{}|{reference}|{}(", case.system.name, action.kind);
        for argument in &action.arguments {
            let _ = write!(text, "{},", ranked(argument));
        }
        text.push_str(")|scope");
        for (entity, rows) in &situation.scope.rows {
            match rows {
                Rows::Every => {
                    let _ = write!(text, " {entity}:*");
                }
                Rows::Some(keys) => {
                    let keys: Vec<String> = keys.iter().map(ranked).collect();
                    let _ = write!(text, " {entity}:[{}]", keys.join(","));
                }
            }
        }
        text.push_str("|live");
        for row in &seen {
            let of: Vec<String> = parents_of(row).iter().map(ranked).collect();
            let _ = write!(text, " {}<{}>", ranked(row), of.join(","));
        }
        situation.key = fingerprint(&text);
        situation
    }

    fn rank(&self, row: &RowKey) -> Option<u16> {
        let numbers = self.numbers.get(&row.entity)?;
        let rank = numbers.binary_search(&row.number).ok()?;
        u16::try_from(rank).ok()
    }

    /// What the operation did, seen as the live rows `before` and `after`
    /// it and its result.
    pub(super) fn learn(
        &self,
        before: &BTreeSet<RowKey>,
        after: &BTreeSet<RowKey>,
        result: &OperationResult,
    ) -> Learned {
        let outside = |rows: &BTreeSet<RowKey>| -> Vec<RowKey> {
            rows.iter()
                .filter(|k| !self.scope.contains(k))
                .cloned()
                .collect()
        };
        if outside(before) != outside(after) {
            return Learned::Contradicts;
        }
        // An unmapped error's text is the server's message, which may name
        // this case's rows.
        if let OperationResult::Finished(outcome) = result
            && outcome.is_unmapped()
        {
            return Learned::NotKept;
        }
        let after: Option<Vec<(usize, u16)>> = after
            .iter()
            .filter(|k| self.scope.contains(k))
            .map(|k| Some((k.entity, self.rank(k)?)))
            .collect();
        match after {
            Some(after) => Learned::Kept(Transition {
                result: result.clone(),
                after,
            }),
            None => Learned::NotKept,
        }
    }

    /// Runs the operation as `transition` says: its live rows in scope
    /// become the transition's, renamed back; gives its result.
    pub(super) fn apply(
        &self,
        case: &Case,
        transition: &Transition,
        live: &mut BTreeSet<RowKey>,
    ) -> OperationResult {
        live.retain(|k| !self.scope.contains(k));
        for &(entity, rank) in &transition.after {
            let number = self.numbers[&entity][usize::from(rank)];
            live.insert(RowKey::new(&case.system, entity, number));
        }
        transition.result.clone()
    }
}

/// A 128-bit digest of a key's text: kept runs are looked up by it, so
/// thousands of them cost little memory. Two SipHash passes with different
/// prefixes; a collision between two of a run's keys is not to be expected
/// (about one in 10^30 for 10,000 keys).
pub(super) fn fingerprint(text: &str) -> u128 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let half = |prefix: u8| {
        let mut hasher = DefaultHasher::new();
        (prefix, text).hash(&mut hasher);
        hasher.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::UniqueKey;
    use crate::engine::footprint::Footprints;
    use crate::engine::footprint::tests::blog;
    use crate::history::Outcome;

    fn situation(case: &Case, operation: usize, live: &BTreeSet<RowKey>) -> Situation<'static> {
        situation_under(case, operation, live, &[])
    }

    /// With the schema's unique keys.
    fn situation_under(
        case: &Case,
        operation: usize,
        live: &BTreeSet<RowKey>,
        keys: &[UniqueKey],
    ) -> Situation<'static> {
        let (_, reference) = blog("p1", &["delete-post post=p1"]);
        let scope = Footprints::of(case, &reference, keys)
            .expect("footprints")
            .scope(operation)
            .expect("known row by row");
        let scope: &'static Scope = Box::leak(Box::new(scope));
        Situation::of(
            case,
            &reference.name,
            operation,
            scope,
            live,
            &parents(case),
        )
    }

    fn live(case: &Case, labels: &[&str]) -> BTreeSet<RowKey> {
        case.all_rows()
            .into_iter()
            .map(|r| r.key)
            .filter(|k| labels.contains(&k.short().as_str()))
            .collect()
    }

    fn ok() -> OperationResult {
        OperationResult::Finished(Outcome::ok())
    }

    #[test]
    fn situations_that_differ_only_in_row_numbers_meet_and_are_renamed_back() {
        let (first, _) = blog(
            "p1 p2 c1(p1) c2(p2)",
            &["delete-comment comment=c2 post=p2"],
        );
        let (later, _) = blog("p4 c3(p4) c7(p4)", &["delete-comment comment=c3 post=p4"]);
        let seen = situation(&first, 0, &live(&first, &["p1", "p2", "c1", "c2"]));
        let met = situation(&later, 0, &live(&later, &["p4", "c3", "c7"]));
        assert_eq!(seen.key, met.key);
        let Learned::Kept(transition) = seen.learn(
            &live(&first, &["p1", "p2", "c1", "c2"]),
            &live(&first, &["p1", "p2", "c1"]),
            &ok(),
        ) else {
            panic!("a plain delete is kept");
        };
        let mut rows = live(&later, &["p4", "c3", "c7"]);
        assert_eq!(met.apply(&later, &transition, &mut rows), ok());
        assert_eq!(rows, live(&later, &["p4", "c7"]));
    }

    #[test]
    fn a_situation_differs_by_which_rows_in_scope_are_live_and_by_order() {
        let (case, _) = blog("p1 c1(p1) c2(p1)", &["delete-comment comment=c1 post=p1"]);
        let all = situation(&case, 0, &live(&case, &["p1", "c1", "c2"]));
        let gone = situation(&case, 0, &live(&case, &["p1", "c2"]));
        let outside = situation(&case, 0, &live(&case, &["p1", "c1"]));
        assert_ne!(all.key, gone.key, "the comment is gone");
        assert_eq!(all.key, outside.key, "c2 is outside a comment's delete");
        let (other, _) = blog("p1 c1(p1) c2(p1)", &["delete-comment comment=c2 post=p1"]);
        assert_eq!(
            all.key,
            situation(&other, 0, &live(&other, &["p1", "c1", "c2"])).key,
            "the other comment of one post: ranks among the rows in scope"
        );
        let (insert, _) = blog("p1 c1(p1) c2(p1)", &["add-comment comment=c3 post=p1"]);
        let (between, _) = blog("p1 c1(p1) c4(p1)", &["add-comment comment=c3 post=p1"]);
        let keyed = |keys: &[UniqueKey]| {
            (
                situation_under(&insert, 0, &live(&insert, &["p1", "c1", "c2"]), keys).key,
                situation_under(&between, 0, &live(&between, &["p1", "c1", "c4"]), keys).key,
            )
        };
        let (after, before) = keyed(&[]);
        assert_eq!(after, before, "no key compares the new comment with others");
        let body = UniqueKey {
            table: "comments".into(),
            columns: Some(vec!["body".into()]),
            null_when_left_out: Vec::new(),
        };
        let (after, before) = keyed(&[body]);
        assert_ne!(after, before, "a new comment before or after the live ones");
    }

    #[test]
    fn a_change_outside_the_scope_contradicts_and_a_servers_message_is_not_kept() {
        let (case, _) = blog("p1 p2 c1(p1)", &["delete-comment comment=c1 post=p1"]);
        let before = live(&case, &["p1", "p2", "c1"]);
        let seen = situation(&case, 0, &before);
        assert!(matches!(
            seen.learn(&before, &live(&case, &["p1"]), &ok()),
            Learned::Contradicts
        ));
        let unmapped = OperationResult::Finished(Outcome::unmapped("XX000", "row c1 says no"));
        assert!(matches!(
            seen.learn(&before, &live(&case, &["p1", "p2"]), &unmapped),
            Learned::NotKept
        ));
    }
}
