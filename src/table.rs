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

/// The rows as a text table.
pub fn render(rows: &[SoloRow]) -> String {
    let header = [
        "implementation",
        "operation",
        "outcome",
        "deleted",
        "tombstones",
    ];
    let cells = rows.iter().map(|r| {
        [
            r.implementation.clone(),
            r.action.to_string(),
            r.history.results[0].to_string(),
            names(&r.deleted()),
            names(&r.tombstones()),
        ]
    });
    to_text(&text_table(&header, cells))
}

/// `a | b` columns under a `-+-` rule, each as wide as its widest cell (wide
/// cells are never wrapped or cut, so every row stays aligned, also in a
/// pipe). The tables of `run`, `explore` and the findings share it.
pub fn text_table<R: IntoIterator<Item = String>>(
    header: &[&str],
    rows: impl IntoIterator<Item = R>,
) -> comfy_table::Table {
    use comfy_table::{ContentArrangement, ContentLineStyle, LineStyle, TableStyle};
    let style = TableStyle::new()
        .header_lines(ContentLineStyle::none().junction('|'))
        .header_separator(LineStyle::none().fill('-').junction('+'))
        .content_lines(ContentLineStyle::none().junction('|'));
    let mut table = comfy_table::Table::new();
    table
        .load_style(style)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.to_vec());
    for row in rows {
        table.add_row(row.into_iter().collect::<Vec<_>>());
    }
    // Rows start at the margin, like the lines printed around them.
    if let Some(first) = table.column_mut(0) {
        first.set_padding((0, 1));
    }
    table
}

/// The table's lines without trailing blanks, each ending in a newline.
pub fn to_text(table: &comfy_table::Table) -> String {
    table
        .lines()
        .map(|l| l.trim_end().to_string() + "\n")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where each `|` falls, in characters: the same on every row of an
    /// aligned table.
    fn bars(line: &str) -> Vec<usize> {
        line.chars()
            .enumerate()
            .filter(|(_, c)| *c == '|' || *c == '+')
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn a_wide_cell_keeps_the_table_aligned() {
        let wide = "an-implementation-with-a-very-long-name-".repeat(6);
        let rows = vec![
            vec![
                "atomic".to_string(),
                "sign-out u1 from t1".into(),
                "200".into(),
            ],
            vec![
                wide.clone(),
                "delete user u1".into(),
                "404 USER_NOT_FOUND".into(),
            ],
        ];
        let text = to_text(&text_table(
            &["implementation", "operation", "outcome"],
            rows,
        ));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("implementation ") && lines[3].starts_with(&wide));
        let expected = bars(lines[0]);
        assert_eq!(expected.len(), 2, "{text}");
        for line in &lines {
            assert_eq!(bars(line), expected, "misaligned:\n{text}");
            assert!(!line.ends_with(' '), "{line:?}");
        }
        let cells: Vec<&str> = lines[2].split('|').map(str::trim).collect();
        assert_eq!(cells, ["atomic", "sign-out u1 from t1", "200"]);
    }
}
