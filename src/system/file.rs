//! Reading `system.toml`: TOML into raw structs, then validation into a
//! [`System`]. Every error is one line naming the file, the section (entity,
//! operation, label) and the field.

use super::template::{Part, Template};
use super::{
    Constant, Entity, Label, LabelRule, Layout, OperationSpec, Origin, ParameterSpec, Source,
    SqlType, System, SystemError, SystemFile, Tombstones,
};
use crate::implementation::toml_error;
use crate::text::{one_line, quoted};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The harness's own anomaly names, which `[names]` may rename.
pub const ANOMALIES: [&str; 7] = [
    "duplicate",
    "missing",
    "live",
    "wrong",
    "orphan",
    "server-error",
    "serial",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSystem {
    name: String,
    #[serde(default)]
    description: String,
    schema: Vec<String>,
    reference: String,
    #[serde(default)]
    constants: BTreeMap<String, RawConstant>,
    tombstones: RawTombstones,
    entities: Vec<RawEntity>,
    operations: BTreeMap<String, RawOperation>,
    #[serde(default)]
    labels: Vec<RawLabel>,
    #[serde(default)]
    names: BTreeMap<String, String>,
    solo: RawSolo,
}

/// `[solo] world = "u1 t1(u1) …"`: where `run` tries each operation alone.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSolo {
    world: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConstant {
    r#type: String,
    value: toml::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTombstones {
    layout: String,
    table: Option<String>,
    table_column: Option<String>,
    key_column: Option<String>,
    data_column: Option<String>,
    #[serde(default)]
    required: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntity {
    name: String,
    prefix: String,
    table: String,
    id: Option<String>,
    #[serde(default)]
    parents: Vec<String>,
    count: [u8; 2],
    #[serde(default = "yes")]
    tracked: bool,
    #[serde(default)]
    cascade: bool,
    key: Vec<String>,
    columns: BTreeMap<String, String>,
    tombstone_table: Option<String>,
    live_when: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperation {
    #[serde(default = "one")]
    weight: u32,
    #[serde(default)]
    parameters: Vec<RawParameter>,
    otherwise: Option<String>,
    plainer: Option<String>,
    describe: Option<String>,
    target: Option<String>,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParameter {
    name: String,
    row: Option<String>,
    parent: Option<String>,
    new: Option<String>,
    of: Option<String>,
    #[serde(default)]
    missing: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLabel {
    name: String,
    title: String,
    server_error_at_record: Option<RawServerErrorAtRecord>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServerErrorAtRecord {
    operations: Vec<String>,
    row: String,
    recorded_by: Vec<String>,
}

/// Entities this many rows deep at most per parent: worlds stay small
/// enough to read, and combinations of several parents stay countable.
pub const COUNT_MAX: u8 = 8;

pub(super) fn parse(
    label: &str,
    origin: Origin,
    files: Vec<SystemFile>,
) -> Result<System, SystemError> {
    let invalid = |file: &str, message: String| SystemError::Invalid {
        file: format!("{label}/{file}"),
        message,
    };
    let text = files
        .iter()
        .find(|f| f.path == "system.toml")
        .map(|f| f.text.clone())
        .ok_or_else(|| invalid("system.toml", "no such file".into()))?;
    let raw: RawSystem =
        toml::from_str(&text).map_err(|e| invalid("system.toml", toml_error(&text, &e)))?;
    let mut schema_sql = String::new();
    for (i, name) in raw.schema.iter().enumerate() {
        let file = files.iter().find(|f| &f.path == name).ok_or_else(|| {
            invalid(
                "system.toml",
                format!(
                    "field 'schema', file {}: {} is not in the system's directory",
                    i + 1,
                    quoted(name)
                ),
            )
        })?;
        schema_sql.push_str(&file.text);
        schema_sql.push('\n');
    }
    let folder = |name: &str| -> Vec<SystemFile> {
        files
            .iter()
            .filter(|f| f.path.starts_with(&format!("{name}/")))
            .cloned()
            .collect()
    };
    let mut system = System {
        name: raw.name.trim().to_string(),
        description: raw.description.trim().to_string(),
        origin,
        schema_sql,
        reference: raw.reference.clone(),
        constants: BTreeMap::new(),
        tombstones: Tombstones {
            layout: Layout::PerTable,
            required: BTreeMap::new(),
        },
        entities: Vec::new(),
        operations: BTreeMap::new(),
        operation_order: declared_order(&text),
        solo_world: raw.solo.world.clone(),
        labels: Vec::new(),
        names: BTreeMap::new(),
        implementations: folder("implementations"),
        scenarios: folder("scenarios"),
        counterexamples: folder("counterexamples"),
    };
    validate(&raw, &mut system).map_err(|m| invalid("system.toml", m))?;
    Ok(system)
}

fn validate(raw: &RawSystem, system: &mut System) -> Result<(), String> {
    if system.name.is_empty() {
        return Err("field 'name' is empty".into());
    }
    if raw.schema.is_empty() {
        return Err("field 'schema': name at least one SQL file".into());
    }
    system.constants = constants(&raw.constants)?;
    system.tombstones = tombstones(&raw.tombstones)?;
    system.entities = entities(raw, system)?;
    system.operations = operations(raw, system)?;
    system.labels = labels(raw, system)?;
    system.names = names(&raw.names)?;
    system
        .operation_order
        .retain(|name| system.operations.contains_key(name));
    for name in system.operations.keys() {
        if !system.operation_order.contains(name) {
            system.operation_order.push(name.clone());
        }
    }
    crate::world::World::parse(system, &system.solo_world)
        .map_err(|e| format!("section 'solo', field 'world': {e}"))?;
    if system.implementation_file(&system.reference).is_none() {
        return Err(format!(
            "field 'reference': no implementations/{}.toml in the system's directory",
            system.reference.escape_debug()
        ));
    }
    Ok(())
}

/// The operations in the order their `[operations.NAME]` headers stand.
fn declared_order(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let name = line
                .trim()
                .strip_prefix("[operations.")?
                .strip_suffix(']')?;
            Some(name.trim_matches('"').to_string())
        })
        .collect()
}

fn constants(raw: &BTreeMap<String, RawConstant>) -> Result<BTreeMap<String, Constant>, String> {
    let mut constants = BTreeMap::new();
    for (name, constant) in raw {
        let field = |m: String| format!("constant {}, {m}", quoted(name));
        check_name(name).map_err(|m| field(format!("name: {m}")))?;
        let sql_type =
            SqlType::parse(&constant.r#type).map_err(|m| field(format!("field 'type': {m}")))?;
        let value = match &constant.value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            _ => {
                return Err(field(
                    "field 'value': expected a string or an integer".into(),
                ));
            }
        };
        check_value(sql_type, &value).map_err(|m| field(format!("field 'value': {m}")))?;
        constants.insert(name.clone(), Constant { sql_type, value });
    }
    Ok(constants)
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    match ok {
        true => Ok(()),
        false => Err(format!(
            "{} must be lower case letters, digits and _ (it is written :{} or ${} in SQL)",
            quoted(name),
            name.escape_debug(),
            name.escape_debug()
        )),
    }
}

fn check_value(sql_type: SqlType, value: &str) -> Result<(), String> {
    match sql_type {
        SqlType::Uuid if value.parse::<uuid::Uuid>().is_err() => {
            Err(format!("{} is not a UUID", quoted(value)))
        }
        SqlType::Int if value.parse::<i64>().is_err() => {
            Err(format!("{} is not an integer", quoted(value)))
        }
        _ => Ok(()),
    }
}

fn tombstones(raw: &RawTombstones) -> Result<Tombstones, String> {
    let field = |name: &str, value: &Option<String>| -> Result<String, String> {
        match value {
            Some(v) if !v.trim().is_empty() => Ok(v.clone()),
            _ => Err(format!(
                "section 'tombstones', field '{name}': the shared layout needs it"
            )),
        }
    };
    let layout = match raw.layout.as_str() {
        "shared" => Layout::Shared {
            table: field("table", &raw.table)?,
            table_column: field("table_column", &raw.table_column)?,
            key_column: field("key_column", &raw.key_column)?,
            data_column: raw.data_column.clone(),
        },
        "per-table" => {
            for (name, value) in [
                ("table", &raw.table),
                ("table_column", &raw.table_column),
                ("key_column", &raw.key_column),
                ("data_column", &raw.data_column),
            ] {
                if value.is_some() {
                    return Err(format!(
                        "section 'tombstones', field '{name}': the per-table layout names its tables on each entity (tombstone_table)"
                    ));
                }
            }
            Layout::PerTable
        }
        other => {
            return Err(format!(
                "section 'tombstones', field 'layout': {} is not a layout: expected shared or per-table",
                quoted(other)
            ));
        }
    };
    let mut required = BTreeMap::new();
    for (column, value) in &raw.required {
        let json = serde_json::to_value(value).map_err(|e| {
            format!(
                "section 'tombstones', field 'required', column {}: {}",
                quoted(column),
                one_line(&e.to_string())
            )
        })?;
        required.insert(column.clone(), json);
    }
    Ok(Tombstones { layout, required })
}

fn entities(raw: &RawSystem, system: &System) -> Result<Vec<Entity>, String> {
    let constant_names: Vec<&str> = system.constants.keys().map(String::as_str).collect();
    let mut entities: Vec<Entity> = Vec::new();
    let mut ordinal = 0u16;
    for (index, raw_entity) in raw.entities.iter().enumerate() {
        let name = if raw_entity.name.is_empty() {
            format!("#{}", index + 1)
        } else {
            raw_entity.name.clone()
        };
        let entity = entity(
            raw_entity,
            &entities,
            &constant_names,
            &system.tombstones.layout,
            &mut ordinal,
        )
        .map_err(|m| format!("entity {}, {m}", quoted(&name)))?;
        entities.push(entity);
    }
    if entities.is_empty() {
        return Err("no [[entities]]: describe at least one kind of row".into());
    }
    if !entities.iter().any(|e| e.tracked) {
        return Err("no entity is tracked: deletes of at least one must be recorded".into());
    }
    Ok(entities)
}

fn entity(
    raw: &RawEntity,
    earlier: &[Entity],
    constants: &[&str],
    layout: &Layout,
    ordinal: &mut u16,
) -> Result<Entity, String> {
    check_name(&raw.name).map_err(|m| format!("field 'name': {m}"))?;
    if earlier.iter().any(|e| e.name == raw.name) {
        return Err("field 'name': another entity has this name".into());
    }
    if raw.prefix.is_empty() || !raw.prefix.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err("field 'prefix': letters only, e.g. \"t\" for t1, t2".into());
    }
    if earlier.iter().any(|e| e.prefix == raw.prefix) {
        return Err("field 'prefix': another entity has this prefix".into());
    }
    if raw.table.trim().is_empty() {
        return Err("field 'table' is empty".into());
    }
    if earlier.iter().any(|e| e.table == raw.table) {
        return Err("field 'table': another entity has this table".into());
    }
    let mut parents = Vec::new();
    for parent in &raw.parents {
        let index = earlier
            .iter()
            .position(|e| &e.name == parent)
            .ok_or_else(|| {
                format!(
                    "field 'parents': {} is not an entity declared before this one",
                    quoted(parent)
                )
            })?;
        if parents.contains(&index) {
            return Err(format!(
                "field 'parents': {} is named twice",
                quoted(parent)
            ));
        }
        parents.push(index);
    }
    let [low, high] = raw.count;
    if low > high || high > COUNT_MAX {
        return Err(format!(
            "field 'count': expected [min, max] with min <= max <= {COUNT_MAX}"
        ));
    }
    if parents.len() > 1 && high > 1 {
        return Err(
            "field 'count': a row of several parents exists once per combination at most: [0, 1]"
                .into(),
        );
    }
    let id = match &raw.id {
        Some(text) => Some(SqlType::parse(text).map_err(|m| format!("field 'id': {m}"))?),
        None if parents.is_empty() => {
            return Err(
                "field 'id': an entity without parents needs its own identity (uuid, text or int)"
                    .into(),
            );
        }
        None => None,
    };
    let parent_names: Vec<&str> = parents.iter().map(|&p| earlier[p].name.as_str()).collect();
    let mut columns = Vec::new();
    for (column, text) in &raw.columns {
        let template = Template::parse(text, &parent_names, constants)
            .map_err(|m| format!("field 'columns', column {}: {m}", quoted(column)))?;
        if id.is_none() && template.parts.contains(&Part::Id) {
            return Err(format!(
                "field 'columns', column {}: $id is not there: the entity has no 'id'",
                quoted(column)
            ));
        }
        columns.push((column.clone(), template));
    }
    key_columns(raw, &columns)?;
    let tombstone_table = match (layout, &raw.tombstone_table) {
        (Layout::PerTable, Some(t)) if !t.trim().is_empty() => Some(t.clone()),
        (Layout::PerTable, _) if raw.tracked => {
            return Err(
                "field 'tombstone_table': the per-table layout needs one for a tracked entity"
                    .into(),
            );
        }
        (Layout::Shared { .. }, Some(_)) => {
            return Err(
                "field 'tombstone_table': the shared layout records every table in its one table"
                    .into(),
            );
        }
        _ => None,
    };
    if id.is_some() {
        *ordinal += 1;
    }
    Ok(Entity {
        name: raw.name.clone(),
        prefix: raw.prefix.clone(),
        table: raw.table.clone(),
        id,
        parents,
        count: (low, high),
        tracked: raw.tracked,
        cascade: raw.cascade,
        key: raw.key.clone(),
        columns,
        tombstone_table,
        live_when: match &raw.live_when {
            Some(condition) if condition.trim().is_empty() => {
                return Err("field 'live_when' is empty".into());
            }
            other => other.clone(),
        },
        ordinal: *ordinal,
    })
}

/// Every key column is seeded from one known value, so the harness can
/// name a row from its key (and a tombstone from the key it records).
fn key_columns(raw: &RawEntity, columns: &[(String, Template)]) -> Result<(), String> {
    if raw.key.is_empty() {
        return Err("field 'key': name the primary key columns".into());
    }
    let mut seen = BTreeSet::new();
    for column in &raw.key {
        if !seen.insert(column) {
            return Err(format!(
                "field 'key': column {} is named twice",
                quoted(column)
            ));
        }
        let template = columns
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, t)| t)
            .ok_or_else(|| {
                format!(
                    "field 'key': column {} has no value in 'columns'",
                    quoted(column)
                )
            })?;
        if template.single().is_none() {
            return Err(format!(
                "field 'columns', column {}: a key column must be exactly one of $id, a parent or a constant",
                quoted(column)
            ));
        }
    }
    let distinguishes = raw.key.iter().any(|column| {
        let template = &columns
            .iter()
            .find(|(c, _)| c == column)
            .expect("checked")
            .1;
        matches!(
            template.single(),
            Some(Part::Id | Part::Label | Part::Parent(_))
        )
    });
    if !distinguishes {
        return Err("field 'key': no key column tells two rows apart ($id or a parent)".into());
    }
    Ok(())
}

fn operations(raw: &RawSystem, system: &System) -> Result<BTreeMap<String, OperationSpec>, String> {
    let mut operations = BTreeMap::new();
    for (name, raw_operation) in &raw.operations {
        let spec = operation(name, raw_operation, system)
            .map_err(|m| format!("operation {}, {m}", quoted(name)))?;
        operations.insert(name.clone(), spec);
    }
    if operations.is_empty() {
        return Err("no [operations.*]: describe at least one operation".into());
    }
    for spec in operations.values() {
        for (field, target) in [("otherwise", &spec.otherwise), ("plainer", &spec.plainer)] {
            if let Some(target) = target
                && (!operations.contains_key(target) || target == &spec.name)
            {
                return Err(format!(
                    "operation {}, field '{field}': {} is not another operation of this system",
                    quoted(&spec.name),
                    quoted(target)
                ));
            }
        }
    }
    for spec in operations.values() {
        let mut seen = BTreeSet::new();
        let mut next = Some(spec);
        while let Some(current) = next {
            if !seen.insert(&current.name) {
                return Err(format!(
                    "operation {}, field 'otherwise': the fallbacks go round in a circle",
                    quoted(&spec.name)
                ));
            }
            next = current.otherwise.as_ref().map(|o| &operations[o]);
        }
    }
    Ok(operations)
}

fn operation(name: &str, raw: &RawOperation, system: &System) -> Result<OperationSpec, String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(
            "field 'name' (the [operations.NAME] header): lower case letters, digits and - only"
                .into(),
        );
    }
    let mut parameters: Vec<ParameterSpec> = Vec::new();
    for (i, p) in raw.parameters.iter().enumerate() {
        let parameter = parameter(p, &parameters, system)
            .map_err(|m| format!("parameter {} ({}), {m}", i + 1, quoted(&p.name)))?;
        parameters.push(parameter);
    }
    let describe = match &raw.describe {
        Some(text) => {
            check_describe(text, &parameters)?;
            text.clone()
        }
        None => {
            let holes: Vec<String> = parameters
                .iter()
                .map(|p| format!("{{{}}}", p.name))
                .collect();
            format!("{name} {}", holes.join(" ")).trim().to_string()
        }
    };
    let target = match &raw.target {
        Some(t) => parameters
            .iter()
            .position(|p| &p.name == t)
            .ok_or_else(|| format!("field 'target': {} is not a parameter", quoted(t)))?,
        None if parameters.is_empty() => {
            return Err("field 'parameters': an operation needs at least one".into());
        }
        None => 0,
    };
    Ok(OperationSpec {
        target,
        name: name.to_string(),
        weight: raw.weight,
        parameters,
        otherwise: raw.otherwise.clone(),
        plainer: raw.plainer.clone(),
        describe,
    })
}

fn parameter(
    raw: &RawParameter,
    earlier: &[ParameterSpec],
    system: &System,
) -> Result<ParameterSpec, String> {
    check_name(&raw.name).map_err(|m| format!("field 'name': {m}"))?;
    if earlier.iter().any(|p| p.name == raw.name) || system.constants.contains_key(&raw.name) {
        return Err("field 'name': another parameter or a constant has this name".into());
    }
    let (field, entity_name) = match (&raw.row, &raw.parent, &raw.new) {
        (Some(e), None, None) => ("row", e),
        (None, Some(e), None) => ("parent", e),
        (None, None, Some(e)) => ("new", e),
        _ => return Err("field 'row', 'parent' or 'new': give exactly one of them".into()),
    };
    let entity = system
        .entity(entity_name)
        .ok_or_else(|| format!("field '{field}': {} is not an entity", quoted(entity_name)))?;
    let of =
        match &raw.of {
            Some(other) => Some(earlier.iter().position(|p| &p.name == other).ok_or_else(
                || {
                    format!(
                        "field 'of': {} is not a parameter before this one",
                        quoted(other)
                    )
                },
            )?),
            None => None,
        };
    let belongs = |child: usize, parent: usize| system.entities[child].parents.contains(&parent);
    let source = match (field, of) {
        ("row", None) => Source::Any,
        ("row", Some(o)) if belongs(entity, earlier[o].entity) => Source::ChildOf(o),
        ("parent", Some(o)) if belongs(earlier[o].entity, entity) => Source::ParentOf(o),
        ("parent", None) => return Err("field 'of': a parent of which parameter?".into()),
        ("new", _) if system.entities[entity].id.is_none() => {
            return Err(format!(
                "field 'new': {} has no identity of its own to create",
                quoted(entity_name)
            ));
        }
        ("new", None) if system.entities[entity].parents.is_empty() => Source::New(None),
        ("new", Some(o)) if belongs(entity, earlier[o].entity) => Source::New(Some(o)),
        ("new", None) => {
            return Err("field 'of': a new row needs the parameter it belongs to".into());
        }
        (_, Some(o)) => {
            return Err(format!(
                "field 'of': {} and {} are not parent and child",
                quoted(entity_name),
                quoted(&system.entities[earlier[o].entity].name)
            ));
        }
        _ => unreachable!("every field is covered"),
    };
    Ok(ParameterSpec {
        name: raw.name.clone(),
        entity,
        source,
        missing: raw.missing,
    })
}

fn check_describe(text: &str, parameters: &[ParameterSpec]) -> Result<(), String> {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| "field 'describe': a { is never closed".to_string())?;
        let name = &rest[open + 1..open + close];
        if !parameters.iter().any(|p| p.name == name) {
            return Err(format!(
                "field 'describe': {{{}}} is not a parameter",
                name.escape_debug()
            ));
        }
        rest = &rest[open + close + 1..];
    }
    Ok(())
}

fn labels(raw: &RawSystem, system: &System) -> Result<Vec<Label>, String> {
    let mut labels: Vec<Label> = Vec::new();
    for (i, label) in raw.labels.iter().enumerate() {
        let at = |m: String| format!("label {} ({}), {m}", i + 1, quoted(&label.name));
        if label.name.trim().is_empty()
            || labels.iter().any(|l| l.name == label.name)
            || ANOMALIES.contains(&label.name.as_str())
        {
            return Err(at(
                "field 'name': empty, or used by another label or the harness".into(),
            ));
        }
        let rule = match &label.server_error_at_record {
            Some(r) => {
                for (field, names) in [
                    ("operations", &r.operations),
                    ("recorded_by", &r.recorded_by),
                ] {
                    if let Some(name) = names.iter().find(|n| !system.operations.contains_key(*n)) {
                        return Err(at(format!(
                            "field 'server_error_at_record', field '{field}': {} is not an operation",
                            quoted(name)
                        )));
                    }
                }
                for name in &r.operations {
                    if !system.operations[name]
                        .parameters
                        .iter()
                        .any(|p| p.name == r.row)
                    {
                        return Err(at(format!(
                            "field 'row': operation {} has no parameter {}",
                            quoted(name),
                            quoted(&r.row)
                        )));
                    }
                }
                LabelRule::ServerErrorAtRecord {
                    operations: r.operations.clone(),
                    row: r.row.clone(),
                    recorded_by: r.recorded_by.clone(),
                }
            }
            None => return Err(at("field 'server_error_at_record': give a rule".into())),
        };
        labels.push(Label {
            name: label.name.clone(),
            title: label.title.clone(),
            rule,
        });
    }
    Ok(labels)
}

fn names(raw: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, String> {
    for (anomaly, name) in raw {
        if !ANOMALIES.contains(&anomaly.as_str()) {
            return Err(format!(
                "section 'names', field {}: not one of the harness's anomalies ({})",
                quoted(anomaly),
                ANOMALIES.join(", ")
            ));
        }
        if name.trim().is_empty() {
            return Err(format!("section 'names', field {}: empty", quoted(anomaly)));
        }
    }
    Ok(raw.clone())
}
