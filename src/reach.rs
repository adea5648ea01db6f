//! A statement's row-level footprint in one case: the rows (table + row of
//! the case) it reads, locks or writes, resolved from its SQL's touches
//! (`implementation::touch`) and the operation's arguments. Two statements
//! whose reaches do not conflict commute: running them in either order gives
//! the same replies and the same rows, so the reduced exploration runs one
//! order. Unknown means every row, never nothing.

use crate::case::Case;
use crate::implementation::touch::{Action, Narrowing, Space, Touch};
use crate::operation::Action as Call;
use crate::world::{RowKey, World};
use std::collections::BTreeSet;
use std::fmt;

/// How a statement uses a row; two uses conflict unless both only read,
/// both only hold the key-share lock a foreign key check takes, or both
/// only add tombstones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Read,
    KeyShare,
    /// A tombstone inserted: two of them for the same row give the same
    /// rows in either order unless a unique key or `ON CONFLICT` decides
    /// between them (see [`Physics::appends_commute`]).
    Append,
    Write,
}

impl Access {
    fn conflicts(self, other: Access) -> bool {
        use Access::*;
        match (self, other) {
            (Write, _) | (_, Write) => true,
            (Append, Append) => false,
            (Append, _) | (_, Append) => true,
            _ => false,
        }
    }
}

/// What the case's shape lets the resolution assume.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Physics {
    /// Tombstone inserts for the same row commute: true until a run meets a
    /// unique key (23505), then the exploration runs again without it.
    pub appends_commute: bool,
    /// Every operation of the case runs in autocommit: no lock outlives its
    /// statement, and a statement can only wait on one still running, which
    /// the engine never leaves running when it chooses; a `FOR UPDATE`
    /// then orders like a read.
    pub locks_are_reads: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rows {
    Every,
    Some(BTreeSet<RowKey>),
}

impl Rows {
    fn overlaps(&self, other: &Rows) -> bool {
        match (self, other) {
            (Rows::Every, Rows::Every) => true,
            (Rows::Every, Rows::Some(s)) | (Rows::Some(s), Rows::Every) => !s.is_empty(),
            (Rows::Some(a), Rows::Some(b)) => a.intersection(b).next().is_some(),
        }
    }

    pub fn union(&mut self, other: &Rows) {
        match (&mut *self, other) {
            (Rows::Every, _) => {}
            (_, Rows::Every) => *self = Rows::Every,
            (Rows::Some(a), Rows::Some(b)) => a.extend(b.iter().cloned()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub space: Space,
    pub access: Access,
    pub rows: Rows,
}

/// Everything one statement (or a COMMIT, for its transaction) reaches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reach {
    cells: Vec<Cell>,
    /// Orders against everything: a statement above READ COMMITTED.
    everything: bool,
}

impl Reach {
    pub fn everything() -> Reach {
        Reach {
            cells: Vec::new(),
            everything: true,
        }
    }

    pub fn conflicts(&self, other: &Reach) -> bool {
        if self.everything || other.everything {
            return true;
        }
        self.cells.iter().any(|a| {
            other.cells.iter().any(|b| {
                a.space == b.space && a.access.conflicts(b.access) && a.rows.overlaps(&b.rows)
            })
        })
    }

    /// Both reaches at once.
    pub fn add(&mut self, other: &Reach) {
        self.everything |= other.everything;
        for cell in &other.cells {
            self.push(cell.clone());
        }
    }

    /// The rows of each entity it touches in any way, `None` where that is
    /// not known row by row: a statement above READ COMMITTED, or a table
    /// the system does not declare (whose rows no world resets).
    pub fn entity_rows(&self) -> Option<std::collections::BTreeMap<usize, Rows>> {
        if self.everything {
            return None;
        }
        let mut found = std::collections::BTreeMap::new();
        for cell in &self.cells {
            match cell.space {
                Space::Entity(entity) => found
                    .entry(entity)
                    .or_insert_with(|| Rows::Some(BTreeSet::new()))
                    .union(&cell.rows),
                Space::Tombstones => {}
                Space::Other(_) => return None,
            }
        }
        Some(found)
    }

    /// Only what it writes or locks: what a transaction's end releases.
    pub fn writes(&self) -> Reach {
        Reach {
            cells: self
                .cells
                .iter()
                .filter(|c| c.access != Access::Read)
                .cloned()
                .collect(),
            everything: self.everything,
        }
    }

    fn push(&mut self, cell: Cell) {
        match self
            .cells
            .iter_mut()
            .find(|c| c.space == cell.space && c.access == cell.access)
        {
            Some(same) => same.rows.union(&cell.rows),
            None => self.cells.push(cell),
        }
    }

    /// Resolves a statement's touches for `call` (one operation of `case`):
    /// equalities with the operation's row arguments name the rows; a
    /// delete reaches the children of what it deletes, an insert or update
    /// holds its parents with a key-share lock.
    pub fn resolve(case: &Case, call: &Call, touches: &[Touch], physics: Physics) -> Reach {
        Reach::resolve_in(&World::new(case.all_rows()), case, call, touches, physics)
    }

    /// Each step of `call`'s script resolved, the case's rows gathered once.
    pub fn of_steps<'t>(
        case: &Case,
        call: &Call,
        steps: impl IntoIterator<Item = &'t [Touch]>,
        physics: Physics,
    ) -> Vec<Reach> {
        let rows = World::new(case.all_rows());
        steps
            .into_iter()
            .map(|touches| Reach::resolve_in(&rows, case, call, touches, physics))
            .collect()
    }

    /// [`Reach::resolve`] over `rows`: the world and every row the case's
    /// operations create.
    fn resolve_in(
        rows: &World,
        case: &Case,
        call: &Call,
        touches: &[Touch],
        physics: Physics,
    ) -> Reach {
        let mut reach = Reach::default();
        let mut sources = Rows::Some(BTreeSet::new());
        let mut entities = 0;
        for touch in touches {
            let Space::Entity(entity) = touch.space else {
                continue;
            };
            let access = match touch.action {
                Action::Read => Access::Read,
                Action::Lock if physics.locks_are_reads => Access::Read,
                _ => Access::Write,
            };
            entities += 1;
            let found = narrow(case, call, entity, &touch.rows, rows);
            sources.union(&found);
            if touch.action == Action::Delete {
                for (child, children) in descendants(case, entity, &found, rows) {
                    reach.push(Cell {
                        space: Space::Entity(child),
                        access: Access::Write,
                        rows: children,
                    });
                }
            }
            if matches!(touch.action, Action::Insert | Action::Update) {
                for (parent, parents) in ancestors(case, entity, &found, rows) {
                    reach.push(Cell {
                        space: Space::Entity(parent),
                        access: Access::KeyShare,
                        rows: parents,
                    });
                }
            }
            reach.push(Cell {
                space: touch.space.clone(),
                access,
                rows: found,
            });
        }
        if entities == 0 {
            sources = Rows::Every;
        }
        for touch in touches {
            let (access, rows) = match (&touch.space, touch.action, &touch.rows) {
                (Space::Entity(_), _, _) => continue,
                (_, Action::Read, _) => (Access::Read, Rows::Every),
                (Space::Tombstones, Action::Insert, Narrowing::Sources)
                    if physics.appends_commute =>
                {
                    (Access::Append, sources.clone())
                }
                (Space::Tombstones, _, Narrowing::Sources) => (Access::Write, sources.clone()),
                _ => (Access::Write, Rows::Every),
            };
            reach.push(Cell {
                space: touch.space.clone(),
                access,
                rows,
            });
        }
        reach
    }
}

/// The rows of `entity` where every equality holds: the intersection of what
/// each equality with a row argument names (its own identity column: that
/// row; a parent's column: that parent's children). Every row where none does.
fn narrow(case: &Case, call: &Call, entity: usize, narrowing: &Narrowing, rows: &World) -> Rows {
    let Narrowing::Equal(pairs) = narrowing else {
        return Rows::Every;
    };
    let system = &case.system;
    let spec = &system.entities[entity];
    let mut found: Option<BTreeSet<RowKey>> = None;
    for (column, parameter) in pairs {
        let Some(argument) = call.argument(system, parameter) else {
            continue;
        };
        let Some((_, template)) = spec.columns.iter().find(|(c, _)| c == column) else {
            continue;
        };
        let named: BTreeSet<RowKey> = match template.identity() {
            Some(crate::system::Part::Id) if argument.entity == entity => [argument.clone()].into(),
            Some(crate::system::Part::Parent(p))
                if spec.parents.get(*p) == Some(&argument.entity) =>
            {
                rows.children(entity, argument).into_iter().collect()
            }
            _ => continue,
        };
        found = Some(match found {
            None => named,
            Some(before) => before.intersection(&named).cloned().collect(),
        });
    }
    found.map_or(Rows::Every, Rows::Some)
}

/// The rows below `found` in every entity that has `entity` as an ancestor.
fn descendants(case: &Case, entity: usize, found: &Rows, rows: &World) -> Vec<(usize, Rows)> {
    let entities = &case.system.entities;
    let mut out = Vec::new();
    let mut pending = vec![(entity, found.clone())];
    while let Some((parent, above)) = pending.pop() {
        for child in (0..entities.len()).filter(|&c| entities[c].parents.contains(&parent)) {
            let below = match &above {
                Rows::Every => Rows::Every,
                Rows::Some(keys) => Rows::Some(
                    keys.iter()
                        .flat_map(|parent| rows.children(child, parent))
                        .collect(),
                ),
            };
            out.push((child, below.clone()));
            pending.push((child, below));
        }
    }
    out
}

/// The parents of the rows in `found`, by entity.
fn ancestors(case: &Case, entity: usize, found: &Rows, rows: &World) -> Vec<(usize, Rows)> {
    case.system.entities[entity]
        .parents
        .iter()
        .map(|&parent| {
            let above = match found {
                Rows::Every => Rows::Every,
                Rows::Some(keys) => Rows::Some(
                    keys.iter()
                        .filter_map(|key| rows.row(key))
                        .flat_map(|r| r.parents.iter().filter(|p| p.entity == parent).cloned())
                        .collect(),
                ),
            };
            (parent, above)
        })
        .collect()
}

impl fmt::Display for Reach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.everything {
            return write!(f, "{{everything}}");
        }
        let cells: Vec<String> = self
            .cells
            .iter()
            .map(|c| {
                let rows = match &c.rows {
                    Rows::Every => "*".to_string(),
                    Rows::Some(keys) => {
                        let keys: Vec<String> = keys.iter().map(RowKey::short).collect();
                        keys.join(" ")
                    }
                };
                format!("{:?} {:?} [{rows}]", c.access, c.space)
            })
            .collect();
        write!(f, "{{{}}}", cells.join("; "))
    }
}
