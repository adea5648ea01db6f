//! Reading one implementation file: TOML into raw structs, then validation
//! into compiled scripts. Every error is one line that names the operation,
//! the step and the field.

use super::rules::{Isolation, Outcome, RowsMatcher, Then};
use super::{Implementation, Refusal, Script, Step};
use crate::operation::{OperationKind, Parameter};
use crate::text::{one_line, quoted};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    isolation: Option<String>,
    operations: BTreeMap<String, RawOperation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperation {
    #[serde(default)]
    transaction_from: Option<String>,
    #[serde(default)]
    isolation: Option<String>,
    #[serde(default)]
    refuse: Vec<RawRefusal>,
    steps: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRefusal {
    equal: [String; 2],
    outcome: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: String,
    sql: String,
    #[serde(default)]
    rows: Vec<RawRowsRule>,
    #[serde(default)]
    errors: Vec<RawErrorRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRowsRule {
    when: String,
    then: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawErrorRule {
    sqlstate: String,
    then: String,
}

pub(super) fn parse(text: &str) -> Result<Implementation, String> {
    let raw: RawFile = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
    if raw.name.trim().is_empty() {
        return Err("field 'name' is empty".into());
    }
    let default_isolation = match &raw.isolation {
        Some(text) => Isolation::parse(text).map_err(|e| format!("field 'isolation': {e}"))?,
        None => Isolation::ReadCommitted,
    };
    if raw.operations.is_empty() {
        return Err("no [operations.*] table: describe at least one operation".into());
    }
    let mut operations = BTreeMap::new();
    for (name, operation) in &raw.operations {
        let kind = OperationKind::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = OperationKind::ALL.iter().map(|k| k.name()).collect();
            format!(
                "operation {} is unknown: expected one of {}",
                quoted(name),
                known.join(", ")
            )
        })?;
        let script = compile_operation(kind, operation, default_isolation)
            .map_err(|e| format!("operation {}, {e}", quoted(name)))?;
        operations.insert(kind, script);
    }
    Ok(Implementation {
        name: raw.name,
        description: raw.description.trim().to_string(),
        source: text.to_string(),
        file: None,
        operations,
    })
}

/// toml's own message spans several lines with a snippet; we keep one line.
fn toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = one_line(error.message());
    match error.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}

fn compile_operation(
    kind: OperationKind,
    raw: &RawOperation,
    default_isolation: Isolation,
) -> Result<Script, String> {
    if raw.steps.is_empty() {
        return Err("field 'steps': an operation needs at least one step".into());
    }
    let mut steps: Vec<Step> = Vec::new();
    for (index, step) in raw.steps.iter().enumerate() {
        let where_ = format!("step {} ({})", index + 1, quoted(&step.name));
        if steps.iter().any(|s| s.name == step.name) {
            return Err(format!(
                "{where_}, field 'name': another step has this name"
            ));
        }
        steps.push(compile_step(kind, step).map_err(|e| format!("{where_}, {e}"))?);
    }
    let transaction_from = match &raw.transaction_from {
        None => None,
        Some(name) => Some(steps.iter().position(|s| &s.name == name).ok_or_else(|| {
            format!(
                "field 'transaction_from': no step is named {}",
                quoted(name)
            )
        })?),
    };
    let isolation = match &raw.isolation {
        Some(text) => Isolation::parse(text).map_err(|e| format!("field 'isolation': {e}"))?,
        None => default_isolation,
    };
    let refusals = raw
        .refuse
        .iter()
        .map(|r| compile_refusal(kind, r))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("field 'refuse': {e}"))?;
    Ok(Script {
        steps,
        transaction_from,
        isolation,
        refusals,
    })
}

fn compile_refusal(kind: OperationKind, raw: &RawRefusal) -> Result<Refusal, String> {
    let a = parameter(kind, &raw.equal[0])?;
    let b = parameter(kind, &raw.equal[1])?;
    Ok(Refusal {
        equal: (a, b),
        outcome: Outcome::parse(&raw.outcome)?,
    })
}

fn parameter(kind: OperationKind, name: &str) -> Result<Parameter, String> {
    let parameter = Parameter::from_name(name);
    match parameter {
        Some(p) if kind.parameters().contains(&p) => Ok(p),
        _ => {
            let offered: Vec<String> = kind
                .parameters()
                .iter()
                .map(|p| format!(":{}", p.name()))
                .collect();
            Err(format!(
                "parameter :{} is not one {kind} supplies ({})",
                name.escape_debug(),
                offered.join(", ")
            ))
        }
    }
}

fn compile_step(kind: OperationKind, raw: &RawStep) -> Result<Step, String> {
    if raw.sql.trim().is_empty() {
        return Err("field 'sql' is empty".into());
    }
    let (sql, parameters) = compile_sql(&raw.sql, |name| parameter(kind, name))
        .map_err(|e| format!("field 'sql': {e}"))?;
    let mut on_rows = Vec::new();
    for (i, rule) in raw.rows.iter().enumerate() {
        let matcher = RowsMatcher::parse(&rule.when)
            .map_err(|e| format!("field 'rows', rule {}: {e}", i + 1))?;
        let then =
            Then::parse(&rule.then).map_err(|e| format!("field 'rows', rule {}: {e}", i + 1))?;
        on_rows.push((matcher, then));
    }
    let mut on_error = Vec::new();
    for (i, rule) in raw.errors.iter().enumerate() {
        let code = rule.sqlstate.trim();
        if code.len() != 5 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!(
                "field 'errors', rule {}: {} is not a SQLSTATE (five characters, e.g. 40P01)",
                i + 1,
                quoted(code)
            ));
        }
        let then =
            Then::parse(&rule.then).map_err(|e| format!("field 'errors', rule {}: {e}", i + 1))?;
        on_error.push((code.to_ascii_uppercase(), then));
    }
    Ok(Step {
        name: raw.name.clone(),
        footprint: super::Footprint::of_sql(&sql),
        sql,
        parameters,
        on_rows,
        on_error,
    })
}

/// Rewrites `:name` into `$n::type`, skipping string literals, quoted
/// identifiers and `::casts`, and returns the parameters in bind order (each
/// distinct name is bound once).
pub(crate) fn compile_sql(
    sql: &str,
    resolve: impl Fn(&str) -> Result<Parameter, String>,
) -> Result<(String, Vec<Parameter>), String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let mut parameters: Vec<Parameter> = Vec::new();
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        let starts_name = chars
            .get(i + 1)
            .is_some_and(|n| n.is_ascii_lowercase() || *n == '_');
        let after_colon = i > 0 && chars[i - 1] == ':';
        if c == ':' && starts_name && !after_colon {
            let end = (i + 1..chars.len())
                .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '_'))
                .unwrap_or(chars.len());
            let name: String = chars[i + 1..end].iter().collect();
            let p = resolve(&name)?;
            let index = match parameters.iter().position(|q| *q == p) {
                Some(index) => index,
                None => {
                    parameters.push(p);
                    parameters.len() - 1
                }
            };
            out.push_str(&format!("${}::{}", index + 1, p.sql_type()));
            i = end;
            continue;
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
        }
        out.push(c);
        i += 1;
    }
    if quote.is_some() {
        return Err("a quote is never closed".into());
    }
    Ok((out, parameters))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(name: &str) -> Result<Parameter, String> {
        Parameter::from_name(name).ok_or_else(|| format!("unknown :{name}"))
    }

    #[test]
    fn placeholders_become_numbered_casts() {
        let (sql, params) =
            compile_sql(r#"SELECT :token::text, ':user', "a:b", :token, :user"#, any).unwrap();
        assert_eq!(
            sql,
            r#"SELECT $1::uuid::text, ':user', "a:b", $1::uuid, $2::uuid"#
        );
        assert_eq!(params, vec![Parameter::Token, Parameter::User]);
    }

    #[test]
    fn errors_name_operation_step_and_field() {
        let text = r#"
name = "x"
[operations.sign-out]
steps = [{ name = "record", sql = "SELECT :team" }]
"#;
        let err = parse(text).unwrap_err();
        assert!(
            err.starts_with(
                "operation 'sign-out', step 1 ('record'), field 'sql': parameter :team"
            ),
            "{err}"
        );
    }

    #[test]
    fn toml_errors_are_one_line_with_a_line_number() {
        let err = parse("name = \"x\"\n[operations.sign-out]\nstepz = 1\n").unwrap_err();
        assert!(!err.contains('\n') && err.starts_with("line "), "{err}");
    }
}
