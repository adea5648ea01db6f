//! The sequential outcome table: every operation of an implementation run
//! alone on a standard world, with the outcome and the tombstones it wrote.
//! What `make run` prints first, and what the per-operation tests check.

use crate::case::Case;
use crate::chooser::Serial;
use crate::engine::{Engine, EngineError};
use crate::history::History;
use crate::implementation::Implementation;
use crate::operation::Action;
use crate::system::{Source, System};
use crate::world::{RowKey, World};
use std::sync::Arc;

/// The world every operation runs alone on: the system's `[solo] world`.
pub fn standard_world(system: &System) -> World {
    World::parse(system, &system.solo_world).expect("validated when the system loaded")
}

/// One action of each operation, in the order the system declares them, on
/// `world`: each parameter takes the first row that fits and that no earlier
/// parameter of the action took (a session delete names another session
/// than the current one), a new row the next free number.
pub fn solo_actions(system: &System, world: &World) -> Vec<Action> {
    system
        .operation_order
        .iter()
        .filter_map(|kind| solo_action(system, world, kind))
        .collect()
}

fn solo_action(system: &System, world: &World, kind: &str) -> Option<Action> {
    let spec = &system.operations[kind];
    let mut arguments: Vec<RowKey> = Vec::new();
    for parameter in &spec.parameters {
        let candidates: Vec<RowKey> = match parameter.source {
            Source::Any => world
                .of_entity(parameter.entity)
                .map(|r| r.key.clone())
                .collect(),
            Source::ChildOf(of) => world.children(parameter.entity, &arguments[of]),
            Source::ParentOf(of) => world
                .row(&arguments[of])
                .into_iter()
                .flat_map(|r| {
                    r.parents
                        .iter()
                        .filter(|p| p.entity == parameter.entity)
                        .cloned()
                })
                .collect(),
            Source::New(_) => vec![RowKey::new(
                system,
                parameter.entity,
                world.next_number(parameter.entity),
            )],
        };
        let fresh = candidates.iter().find(|c| !arguments.contains(c));
        arguments.push(fresh.or(candidates.first())?.clone());
    }
    Some(Action::new(system, kind, arguments))
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
            .map(|t| t.row.clone())
            .collect()
    }

    /// Rows of the world that are gone at the end.
    pub fn deleted(&self) -> Vec<RowKey> {
        self.world
            .keys()
            .into_iter()
            .filter(|r| !self.history.snapshot.live.contains(r))
            .collect()
    }
}

/// Runs each action alone, in a fresh copy of `world`.
pub async fn solo_rows(
    engine: &mut Engine,
    system: &Arc<System>,
    implementation: &Implementation,
    world: &World,
    actions: &[Action],
) -> Result<Vec<SoloRow>, EngineError> {
    let mut rows = Vec::new();
    for action in actions {
        let case = Case::new(system.clone(), world.clone(), vec![action.clone()]);
        let history = engine
            .run(&case, implementation, &mut Serial::default())
            .await?;
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
