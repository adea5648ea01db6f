//! The operators: each finds every place in an implementation file where
//! its mistake fits and makes it there, one change per candidate. Candidates
//! are not validated here; the caller keeps those that validate.
//!
//! Owns: where each operator applies and how it rewrites the file (the TOML
//! table, and a step's SQL through `sql`). Must not know: naming mutants,
//! validation, duplicates, running.

use super::sql::{self, Insert};
use super::{Operator, excerpt};
use crate::implementation::RowsMatcher;
use crate::system::{Layout, System};
use std::ops::Range;
use toml::{Table, Value};

/// One change of the file, before it is named and validated.
pub(super) struct Change {
    pub operator: Operator,
    pub operation: String,
    pub step: Option<String>,
    /// The mutant's id, before a suffix that makes it unique.
    pub id: String,
    pub before: String,
    pub after: String,
    /// The whole file with the change, still under the original's name.
    pub file: Table,
}

/// Every candidate change, operation by operation (by name, as the table
/// keeps them), then operator by operator.
pub(super) fn changes(system: &System, file: &Table) -> Vec<Change> {
    let mut found = Vec::new();
    let Some(operations) = file.get("operations").and_then(Value::as_table) else {
        return found;
    };
    for (name, operation) in operations {
        let Some(operation) = operation.as_table() else {
            continue;
        };
        let here = Operation {
            system,
            file,
            name,
            table: operation,
            steps: steps(operation),
        };
        for operator in Operator::ALL {
            match operator {
                Operator::Autocommit => found.extend(here.autocommit()),
                Operator::ShrinkTransaction => found.extend(here.shrink_transaction()),
                Operator::SwapSteps => found.extend(here.swap_steps()),
                _ => {
                    for index in 0..here.steps.len() {
                        found.extend(here.at_step(operator, index));
                    }
                }
            }
        }
    }
    found
}

fn steps(operation: &Table) -> Vec<&Table> {
    operation
        .get("steps")
        .and_then(Value::as_array)
        .map(|steps| steps.iter().filter_map(Value::as_table).collect())
        .unwrap_or_default()
}

fn text<'t>(table: &'t Table, key: &str) -> Option<&'t str> {
    table.get(key).and_then(Value::as_str)
}

/// One operation of the file, and what changing it takes.
struct Operation<'a> {
    system: &'a System,
    file: &'a Table,
    name: &'a str,
    table: &'a Table,
    steps: Vec<&'a Table>,
}

impl Operation<'_> {
    fn change(
        &self,
        operator: Operator,
        place: &str,
        step: Option<&str>,
        (before, after): (String, String),
        edit: impl FnOnce(&mut Table),
    ) -> Change {
        let mut file = self.file.clone();
        let operation = file
            .get_mut("operations")
            .and_then(Value::as_table_mut)
            .and_then(|operations| operations.get_mut(self.name))
            .and_then(Value::as_table_mut);
        if let Some(operation) = operation {
            edit(operation);
        }
        Change {
            operator,
            operation: self.name.to_string(),
            step: step.map(str::to_string),
            id: format!("{}/{place}", self.name),
            before: excerpt(&before),
            after: excerpt(&after),
            file,
        }
    }

    fn step_name(&self, index: usize) -> Option<&str> {
        self.steps.get(index).and_then(|s| text(s, "name"))
    }

    fn transaction_from(&self) -> Option<&str> {
        text(self.table, "transaction_from")
    }

    fn autocommit(&self) -> Option<Change> {
        let from = self.transaction_from()?;
        let field = format!("transaction_from = {}", toml_string(from));
        Some(self.change(
            Operator::Autocommit,
            "autocommit",
            None,
            (field, String::new()),
            |operation| {
                operation.remove("transaction_from");
            },
        ))
    }

    fn shrink_transaction(&self) -> Option<Change> {
        let from = self.transaction_from()?;
        let index = (0..self.steps.len()).find(|&i| self.step_name(i) == Some(from))?;
        let next = self.step_name(index + 1)?.to_string();
        let field = |name: &str| format!("transaction_from = {}", toml_string(name));
        Some(self.change(
            Operator::ShrinkTransaction,
            "shrink-transaction",
            None,
            (field(from), field(&next)),
            |operation| {
                operation.insert("transaction_from".into(), Value::String(next));
            },
        ))
    }

    /// The transaction keeps beginning at the same position, so a swap
    /// changes the order and nothing else.
    fn swap_steps(&self) -> Vec<Change> {
        let mut found = Vec::new();
        for first in 0..self.steps.len().saturating_sub(1) {
            let (Some(a), Some(b)) = (self.step_name(first), self.step_name(first + 1)) else {
                continue;
            };
            let moved_from = match self.transaction_from() {
                Some(from) if from == a => Some(b.to_string()),
                Some(from) if from == b => Some(a.to_string()),
                _ => None,
            };
            found.push(self.change(
                Operator::SwapSteps,
                &format!("{}-{}/swap-steps", first + 1, first + 2),
                None,
                (format!("{a}, {b}"), format!("{b}, {a}")),
                |operation| {
                    if let Some(steps) = operation.get_mut("steps").and_then(Value::as_array_mut) {
                        steps.swap(first, first + 1);
                    }
                    if let Some(from) = moved_from {
                        operation.insert("transaction_from".into(), Value::String(from));
                    }
                },
            ));
        }
        found
    }

    fn at_step(&self, operator: Operator, index: usize) -> Vec<Change> {
        let step = self.steps[index];
        let (Some(name), Some(sql)) = (text(step, "name"), text(step, "sql")) else {
            return Vec::new();
        };
        let here = Step {
            operation: self,
            index,
            name,
            table: step,
            sql,
        };
        match operator {
            Operator::DropForUpdate => here.drop_for_update(),
            Operator::SplitRecordDelete => here.split_record_delete().into_iter().collect(),
            Operator::DropConjunct => here.drop_conjunct(),
            Operator::DropRequired => here.drop_required(),
            Operator::DropKeyField => here.drop_key_field(),
            Operator::DropRowsRule => here.drop_rows_rule(),
            Operator::Autocommit | Operator::ShrinkTransaction | Operator::SwapSteps => Vec::new(),
        }
    }
}

/// One step of an operation.
struct Step<'a> {
    operation: &'a Operation<'a>,
    index: usize,
    name: &'a str,
    table: &'a Table,
    sql: &'a str,
}

impl Step<'_> {
    /// A change of this step's table alone.
    fn change(
        &self,
        operator: Operator,
        tag: Option<&str>,
        before_after: (String, String),
        edit: impl FnOnce(&mut Table),
    ) -> Change {
        let mut place = format!("{}/{operator}", self.index + 1);
        if let Some(tag) = tag {
            place = format!("{place}/{tag}");
        }
        let index = self.index;
        self.operation.change(
            operator,
            &place,
            Some(self.name),
            before_after,
            |operation| {
                let step = operation
                    .get_mut("steps")
                    .and_then(Value::as_array_mut)
                    .and_then(|steps| steps.get_mut(index))
                    .and_then(Value::as_table_mut);
                if let Some(step) = step {
                    edit(step);
                }
            },
        )
    }

    /// A change of this step's SQL: `edits` applied to it.
    fn sql_change(
        &self,
        operator: Operator,
        tag: Option<&str>,
        before_after: (String, String),
        edits: &[(Range<usize>, String)],
    ) -> Change {
        let sql = sql::apply(self.sql, edits);
        self.change(operator, tag, before_after, |step| {
            step.insert("sql".into(), Value::String(sql));
        })
    }

    fn drop_for_update(&self) -> Vec<Change> {
        sql::locking_clauses(self.sql)
            .into_iter()
            .map(|lock| {
                let clause = self.sql[lock.clause].to_string();
                self.sql_change(
                    Operator::DropForUpdate,
                    None,
                    (clause, String::new()),
                    &[(lock.removal, String::new())],
                )
            })
            .collect()
    }

    /// A step that binds a value is left alone: which of the two steps
    /// should bind it has no one answer.
    fn split_record_delete(&self) -> Option<Change> {
        if self.table.contains_key("bind") {
            return None;
        }
        let shape = sql::record_delete(self.sql)?;
        let part = |range: &Range<usize>| &self.sql[range.clone()];
        let record_sql = format!(
            "INSERT INTO {} ({}) SELECT {} FROM (SELECT {} FROM {} WHERE {}) {}",
            part(&shape.table),
            part(&shape.columns),
            part(&shape.values),
            part(&shape.returning),
            part(&shape.target),
            part(&shape.condition),
            part(&shape.cte),
        );
        let delete_sql = format!(
            "DELETE FROM {} WHERE {}",
            part(&shape.target),
            part(&shape.condition)
        );
        let record_name = format!("{} (record)", self.name);
        let mut record = self.table.clone();
        record.insert("name".into(), Value::String(record_name.clone()));
        record.insert("sql".into(), Value::String(record_sql.clone()));
        let mut delete = Table::new();
        delete.insert(
            "name".into(),
            Value::String(format!("{} (delete)", self.name)),
        );
        delete.insert("sql".into(), Value::String(delete_sql.clone()));
        let began_here = self.operation.transaction_from() == Some(self.name);
        let index = self.index;
        Some(self.operation.change(
            Operator::SplitRecordDelete,
            &format!("{}/{}", index + 1, Operator::SplitRecordDelete),
            Some(self.name),
            (self.sql.to_string(), format!("{record_sql}; {delete_sql}")),
            |operation| {
                if let Some(steps) = operation.get_mut("steps").and_then(Value::as_array_mut) {
                    steps.splice(index..=index, [Value::Table(record), Value::Table(delete)]);
                }
                if began_here {
                    operation.insert("transaction_from".into(), Value::String(record_name));
                }
            },
        ))
    }

    fn drop_conjunct(&self) -> Vec<Change> {
        sql::conjuncts(self.sql)
            .into_iter()
            .enumerate()
            .map(|(n, conjunct)| {
                let text = self.sql[conjunct.conjunct].to_string();
                self.sql_change(
                    Operator::DropConjunct,
                    Some(&(n + 1).to_string()),
                    (text, String::new()),
                    &[(conjunct.removal, String::new())],
                )
            })
            .collect()
    }

    /// The inserts of this step into a tombstone table, with the column
    /// named `name`: its index.
    fn records_with(&self, tables: &[String], name: &str) -> Vec<(Insert, usize)> {
        sql::inserts(self.sql)
            .into_iter()
            .filter(|insert| tables.iter().any(|t| sql::same_name(&insert.table, t)))
            .filter_map(|insert| {
                let column = insert
                    .columns
                    .iter()
                    .position(|(written, _)| sql::same_name(written, name))?;
                Some((insert, column))
            })
            .collect()
    }

    fn drop_required(&self) -> Vec<Change> {
        let system = self.operation.system;
        let tables = system.tombstone_tables();
        let mut found = Vec::new();
        for (name, required) in &system.tombstones.required {
            for (insert, column) in self.records_with(&tables, name) {
                let value = self.sql[insert.rows[0][column].clone()].to_string();
                let before = assignment(&insert, column, &value);
                let columns: Vec<Range<usize>> =
                    insert.columns.iter().map(|(_, r)| r.clone()).collect();
                // The column left out: the table's default applies.
                let removals: Option<Vec<(Range<usize>, String)>> = std::iter::once(&columns)
                    .chain(&insert.rows)
                    .map(|items| Some((sql::list_removal(items, column)?, String::new())))
                    .collect();
                if let Some(removals) = removals {
                    found.push(self.sql_change(
                        Operator::DropRequired,
                        Some(name),
                        (before.clone(), String::new()),
                        &removals,
                    ));
                }
                // A boolean is required true or false: its opposite is the
                // likelier mistake than a missing value.
                let negate = required.is_boolean();
                let tag = if negate { "negated" } else { "null" };
                let wrong = |v: &str| {
                    if negate {
                        format!("NOT ({v})")
                    } else {
                        "NULL".to_string()
                    }
                };
                let replacements: Vec<(Range<usize>, String)> = insert
                    .rows
                    .iter()
                    .map(|row| (row[column].clone(), wrong(&self.sql[row[column].clone()])))
                    .collect();
                found.push(self.sql_change(
                    Operator::DropRequired,
                    Some(&format!("{name}/{tag}")),
                    (before, assignment(&insert, column, &wrong(&value))),
                    &replacements,
                ));
            }
        }
        found
    }

    fn drop_key_field(&self) -> Vec<Change> {
        let system = self.operation.system;
        let mut found = Vec::new();
        match &system.tombstones.layout {
            Layout::Shared {
                table, key_column, ..
            } => {
                for (insert, column) in self.records_with(std::slice::from_ref(table), key_column) {
                    for row in &insert.rows {
                        found.extend(self.key_fields(&insert, column, row[column].clone()));
                    }
                }
            }
            Layout::PerTable => {
                for entity in &system.entities {
                    let Some(table) = &entity.tombstone_table else {
                        continue;
                    };
                    for key in &entity.key {
                        let records = self.records_with(std::slice::from_ref(table), key);
                        for (insert, column) in records {
                            let value = &self.sql[insert.rows[0][column].clone()];
                            let edits: Vec<(Range<usize>, String)> = insert
                                .rows
                                .iter()
                                .map(|row| (row[column].clone(), "NULL".to_string()))
                                .collect();
                            found.push(self.sql_change(
                                Operator::DropKeyField,
                                Some(key),
                                (
                                    assignment(&insert, column, value),
                                    assignment(&insert, column, "NULL"),
                                ),
                                &edits,
                            ));
                        }
                    }
                }
            }
        }
        found
    }

    /// `jsonb_build_object('a', x, 'b', y)` without one pair, and with its
    /// first key renamed (`'a'` → `'ax'`).
    fn key_fields(&self, insert: &Insert, column: usize, value: Range<usize>) -> Vec<Change> {
        let text = &self.sql[value.clone()];
        let Some((function, args)) = sql::call(text) else {
            return Vec::new();
        };
        let builds_object = ["jsonb_build_object", "json_build_object"]
            .iter()
            .any(|f| sql::same_name(&function, f));
        if !builds_object || args.is_empty() || args.len() % 2 != 0 {
            return Vec::new();
        }
        let at = |r: &Range<usize>| value.start + r.start..value.start + r.end;
        let key_of = |pair: usize| sql::string_literal(&text[args[2 * pair].clone()]);
        let pairs = args.len() / 2;
        let mut found = Vec::new();
        let change = |tag: &str, edit: (Range<usize>, String)| {
            let mut new_value = text.to_string();
            let local = edit.0.start - value.start..edit.0.end - value.start;
            new_value.replace_range(local, &edit.1);
            self.sql_change(
                Operator::DropKeyField,
                Some(tag),
                (
                    assignment(insert, column, text),
                    assignment(insert, column, &new_value),
                ),
                &[edit],
            )
        };
        for pair in 0..pairs {
            let (first, second) = (&args[2 * pair], &args[2 * pair + 1]);
            let removal = if pair + 1 < pairs {
                first.start..args[2 * pair + 2].start
            } else if pair > 0 {
                args[2 * pair - 1].end..second.end
            } else {
                first.start..second.end
            };
            let tag = key_of(pair).unwrap_or_else(|| (pair + 1).to_string());
            found.push(change(&tag, (at(&removal), String::new())));
        }
        if let Some(key) = key_of(0) {
            let renamed = sql::quote_literal(&format!("{key}x"));
            found.push(change(&format!("rename-{key}"), (at(&args[0]), renamed)));
        }
        found
    }

    fn drop_rows_rule(&self) -> Vec<Change> {
        let Some(rules) = self.table.get("rows").and_then(Value::as_array) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            let Some(rule) = rule.as_table() else {
                continue;
            };
            let (Some(when), Some(then)) = (text(rule, "when"), text(rule, "then")) else {
                continue;
            };
            if RowsMatcher::parse(when) != Ok(RowsMatcher::Exactly(0)) {
                continue;
            }
            let shown = format!(
                "rows: {{ when = {}, then = {} }}",
                toml_string(when),
                toml_string(then)
            );
            found.push(self.change(
                Operator::DropRowsRule,
                None,
                (shown, String::new()),
                |step| {
                    let emptied = match step.get_mut("rows").and_then(Value::as_array_mut) {
                        Some(rules) => {
                            rules.remove(index);
                            rules.is_empty()
                        }
                        None => false,
                    };
                    if emptied {
                        step.remove("rows");
                    }
                },
            ));
        }
        found
    }
}

/// `column = value`, as `before` and `after` show a value of an insert.
fn assignment(insert: &Insert, column: usize, value: &str) -> String {
    format!("{} = {value}", insert.columns[column].0)
}

/// A string as TOML writes it, for `before` and `after`.
fn toml_string(text: &str) -> String {
    Value::String(text.to_string()).to_string()
}
