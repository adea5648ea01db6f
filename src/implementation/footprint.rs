//! Which tables a statement touches, read from its SQL: what the exhaustive
//! mode needs to know that two statements commute (disjoint tables cannot
//! see or lock each other's rows), so it can skip schedules that only
//! reorder them.

use std::fmt;

/// The tracked tables, one bit each. `DeletedRow` is left out on purpose:
/// recorders only insert into it, and two inserts commute for every
/// invariant (only the order of rows in a dump differs).
const TABLES: [&str; 5] = [
    "ProjectUser",
    "ProjectUserRefreshToken",
    "Team",
    "TeamMember",
    "VerificationCode",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint(u8);

impl Footprint {
    /// Touches everything: transaction boundaries and anything unknown.
    pub const ALL: Footprint = Footprint(u8::MAX);

    pub fn of_sql(sql: &str) -> Footprint {
        let mut bits = 0u8;
        for (i, table) in TABLES.iter().enumerate() {
            if sql.contains(&format!("\"{table}\"")) {
                bits |= 1 << i;
            }
        }
        // Foreign keys: deleting a user or a team cascades to memberships,
        // and a membership's keys lock its user and team.
        let (user, team, member) = (1 << 0, 1 << 2, 1 << 3);
        if bits & (user | team) != 0 {
            bits |= member;
        }
        if bits & member != 0 {
            bits |= user | team;
        }
        Footprint(bits)
    }

    /// Whether the two statements may be swapped without changing anything
    /// the oracles read.
    pub fn commutes_with(self, other: Footprint) -> bool {
        self.0 & other.0 == 0
    }
}

impl fmt::Display for Footprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = TABLES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, t)| *t)
            .collect();
        write!(f, "{{{}}}", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_foreign_keys() {
        let hash = Footprint::of_sql(r#"UPDATE "ProjectUser" SET "passwordHash" = 'x'"#);
        let token = Footprint::of_sql(
            r#"INSERT INTO "DeletedRow" SELECT … FROM "ProjectUserRefreshToken" t"#,
        );
        assert!(hash.commutes_with(token));
        assert!(!token.commutes_with(token));
        assert!(
            !hash.commutes_with(Footprint::of_sql(r#"DELETE FROM "TeamMember""#)),
            "cascade"
        );
        assert!(!Footprint::ALL.commutes_with(token));
        assert_eq!(hash.to_string(), "{ProjectUser, Team, TeamMember}");
    }
}
