//! What a statement does to which tables, read from its SQL against the
//! system's tables: which entity tables it touches (two statements on
//! disjoint tables cannot see or lock each other's rows, so the exhaustive
//! mode may skip schedules that only reorder them), which it deletes from,
//! and whether it records tombstones. Blame reads the last two.

use crate::system::System;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Footprint {
    /// Entity tables touched, one bit per entity. Tombstone tables are left
    /// out on purpose: recorders only insert into them, and two inserts
    /// commute for every invariant (only the order of rows in a dump differs).
    pub touches: u64,
    /// Entity tables its SQL names itself (without foreign keys).
    pub mentions: u64,
    /// Entity tables it deletes from.
    pub deletes: u64,
    /// Whether it inserts into a tombstone table.
    pub records: bool,
}

/// Byte offsets where `table` is named in `sql`: quoted exactly, or bare and
/// case-insensitively where the name is a plain lower-case identifier.
fn mentions(sql: &str, table: &str) -> Vec<usize> {
    let mut found: Vec<usize> = sql
        .match_indices(&format!("\"{table}\""))
        .map(|(i, _)| i)
        .collect();
    let plain = table
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        let lower = sql.to_ascii_lowercase();
        let bytes = lower.as_bytes();
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'"';
        for (i, _) in lower.match_indices(table) {
            let before = i.checked_sub(1).map(|j| bytes[j]);
            let after = bytes.get(i + table.len()).copied();
            if !before.is_some_and(word) && !after.is_some_and(word) && before != Some(b'.') {
                found.push(i);
            }
        }
    }
    found
}

/// Whether `keyword` (e.g. `delete from`) stands right before offset `at`.
fn preceded_by(sql: &str, at: usize, keyword: &str) -> bool {
    let head = sql[..at].to_ascii_lowercase();
    let words: Vec<&str> = head
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let wanted: Vec<&str> = keyword.split_whitespace().collect();
    words.len() >= wanted.len() && words[words.len() - wanted.len()..] == wanted[..]
}

impl Footprint {
    /// Touches everything: transaction boundaries and anything unknown.
    pub const ALL: Footprint = Footprint {
        touches: u64::MAX,
        mentions: 0,
        deletes: 0,
        records: false,
    };

    pub fn of_sql(system: &System, sql: &str) -> Footprint {
        let mut footprint = Footprint::default();
        for (index, entity) in system.entities.iter().enumerate().take(64) {
            let bit = 1u64 << index;
            for at in mentions(sql, &entity.table) {
                footprint.touches |= bit;
                // A soft-deleted entity (`live_when`) is deleted by an UPDATE.
                let soft = entity.live_when.is_some() && preceded_by(sql, at, "update");
                if preceded_by(sql, at, "delete from") || soft {
                    footprint.deletes |= bit;
                }
            }
        }
        for table in system.tombstone_tables() {
            if mentions(sql, &table)
                .into_iter()
                .any(|at| preceded_by(sql, at, "insert into"))
            {
                footprint.records = true;
            }
        }
        footprint.mentions = footprint.touches;
        footprint.touches = with_foreign_keys(system, footprint.touches);
        footprint
    }

    /// Whether the two statements may be swapped without changing anything
    /// the oracles read.
    pub fn commutes_with(self, other: Footprint) -> bool {
        self.touches & other.touches == 0
    }

    /// Whether it deletes rows of `entity`, itself or through a cascade
    /// from a parent.
    pub fn deletes_rows_of(&self, system: &System, entity: usize) -> bool {
        let mut bits = 1u64 << entity.min(63);
        let mut pending = vec![entity];
        while let Some(next) = pending.pop() {
            if system.entities[next].cascade {
                for &parent in &system.entities[next].parents {
                    if bits & (1 << parent) == 0 {
                        bits |= 1 << parent;
                        pending.push(parent);
                    }
                }
            }
        }
        self.deletes & bits != 0
    }

    /// Whether its SQL names `entity`'s table itself.
    pub fn names(&self, entity: usize) -> bool {
        entity < 64 && self.mentions & (1 << entity) != 0
    }

    /// The entity tables touched, by name.
    pub fn describe(&self, system: &System) -> String {
        let names: Vec<&str> = system
            .entities
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < 64 && self.touches & (1 << i) != 0)
            .map(|(_, e)| e.table.as_str())
            .collect();
        format!("{{{}}}", names.join(", "))
    }
}

/// Foreign keys with cascade: a statement on a parent may delete the
/// children, and a child's keys lock its parents.
fn with_foreign_keys(system: &System, mut bits: u64) -> u64 {
    loop {
        let before = bits;
        for (index, entity) in system.entities.iter().enumerate().take(64) {
            if !entity.cascade {
                continue;
            }
            let parents = entity.parents.iter().fold(0u64, |b, &p| b | (1 << p));
            if bits & parents != 0 {
                bits |= 1 << index;
            }
            if bits & (1 << index) != 0 {
                bits |= parents;
            }
        }
        if bits == before {
            return bits;
        }
    }
}

impl fmt::Display for Footprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.touches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_lower_case_names_count_as_whole_words() {
        assert_eq!(
            mentions("delete from posts where id = 1", "posts"),
            vec![12]
        );
        assert!(mentions("delete from posts_archive", "posts").is_empty());
        assert!(mentions("select x.posts from y", "posts").is_empty());
    }
}
