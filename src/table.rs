//! The sequential outcome table: every operation of an implementation run
//! alone on a standard world, with the outcome and the tombstones it wrote.
//! What `make run` prints first, and what the per-operation tests check.

use crate::case::Case;
use crate::chooser::Serial;
use crate::engine::{Engine, EngineError};
use crate::history::History;
use crate::implementation::Implementation;
use crate::operation::Action;
use crate::world::{InvitationId, RowKey, TeamId, TokenId, UserId, World};

/// The world every operation runs alone on (`World::standard`).
pub fn standard_world() -> World {
    World::standard()
}

/// One action of each kind, on the standard world.
pub fn solo_actions() -> Vec<Action> {
    let (u1, t1, t2) = (UserId(1), TokenId(1), TokenId(2));
    vec![
        Action::SignIn {
            user: u1,
            token: TokenId(4),
        },
        Action::SignOut {
            user: u1,
            token: t1,
        },
        Action::DeleteSession {
            user: u1,
            token: t2,
            current: t1,
        },
        Action::ChangePassword {
            user: u1,
            current: t1,
        },
        Action::ChangePasswordAdmin { user: u1 },
        Action::DeleteUser { user: u1 },
        Action::RevokeInvitation {
            team: TeamId(1),
            invitation: InvitationId(1),
        },
        Action::DeleteTeam { team: TeamId(1) },
    ]
}

/// One line of the table.
pub struct SoloRow {
    pub implementation: String,
    pub action: Action,
    pub history: History,
    pub world: World,
}

impl SoloRow {
    pub fn tombstones(&self) -> Vec<RowKey> {
        self.history
            .snapshot
            .tombstones
            .iter()
            .map(|t| t.row)
            .collect()
    }

    /// Rows of the world that are gone at the end.
    pub fn deleted(&self) -> Vec<RowKey> {
        self.world
            .rows()
            .into_iter()
            .filter(|r| !self.history.snapshot.live.contains(r))
            .collect()
    }
}

/// Runs each action alone, in a fresh copy of `world`.
pub async fn solo_rows(
    engine: &mut Engine,
    implementation: &Implementation,
    world: &World,
    actions: &[Action],
) -> Result<Vec<SoloRow>, EngineError> {
    let mut rows = Vec::new();
    for action in actions {
        let case = Case::new(world.clone(), vec![action.clone()]);
        let history = engine.run(&case, implementation, &mut Serial).await?;
        rows.push(SoloRow {
            implementation: implementation.name.clone(),
            action: action.clone(),
            history,
            world: world.clone(),
        });
    }
    Ok(rows)
}

fn names(rows: &[RowKey]) -> String {
    if rows.is_empty() {
        return "-".into();
    }
    rows.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows as a fixed-width text table.
pub fn render(rows: &[SoloRow]) -> String {
    let header = [
        "implementation",
        "operation",
        "outcome",
        "deleted",
        "tombstones",
    ];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.implementation.clone(),
                r.action.to_string(),
                r.history.results[0].to_string(),
                names(&r.deleted()),
                names(&r.tombstones()),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join(" | ").trim_end().to_string()
    };
    let mut out = line(header) + "\n";
    out.push_str(
        &widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-|-"),
    );
    out.push('\n');
    for row in &cells {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
        out.push('\n');
    }
    out
}
