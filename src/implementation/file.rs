//! Reading one implementation file: TOML into raw structs, then validation
//! into compiled scripts. Every error is one line that names the operation,
//! the step and the field.

use super::rules::{Isolation, Outcome, RowsMatcher, Then};
use super::{Implementation, Parameter, Refusal, Retry, Script, Step};
use crate::system::{OperationSpec, SqlType, System};
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
    #[serde(default)]
    retry: Option<RawRetry>,
    steps: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    sqlstates: Vec<String>,
    attempts_max: u8,
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
    #[serde(default)]
    bind: Option<RawBind>,
}

/// `bind = { name = "comment", type = "uuid" }`: the first column of the
/// first row the step returns becomes `:comment` for the steps after it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBind {
    name: String,
    r#type: String,
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

pub(super) fn parse(system: &System, text: &str) -> Result<Implementation, String> {
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
        let spec = system.operation(name).ok_or_else(|| {
            let known: Vec<&str> = system.operations.keys().map(String::as_str).collect();
            format!(
                "operation {} is not one of system {}'s: expected one of {}",
                quoted(name),
                system.name,
                known.join(", ")
            )
        })?;
        let scope = Scope { system, spec };
        let script = compile_operation(&scope, operation, default_isolation)
            .map_err(|e| format!("operation {}, {e}", quoted(name)))?;
        operations.insert(name.clone(), script);
    }
    Ok(Implementation {
        name: raw.name,
        description: raw.description.trim().to_string(),
        source: text.to_string(),
        label: String::new(),
        file: None,
        system: system.name.clone(),
        operations,
    })
}

/// toml's own message spans several lines with a snippet; we keep one line.
pub(crate) fn toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = one_line(error.message());
    match error.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}

/// What names an operation's SQL may use: the system's constants, the
/// operation's parameters, and values bound by earlier steps.
struct Scope<'s> {
    system: &'s System,
    spec: &'s OperationSpec,
}

impl Scope<'_> {
    fn parameter(&self, name: &str, bound: &[Parameter]) -> Result<Parameter, String> {
        if let Some(c) = self.system.constants.get(name) {
            return Ok(Parameter {
                name: name.into(),
                sql_type: c.sql_type,
            });
        }
        if let Some(p) = bound.iter().find(|p| p.name == name) {
            return Ok(p.clone());
        }
        let declared = self.spec.parameters.iter().find(|p| p.name == name);
        match declared.map(|p| self.system.entities[p.entity].id) {
            Some(Some(sql_type)) => Ok(Parameter {
                name: name.into(),
                sql_type,
            }),
            Some(None) => Err(format!(
                "parameter :{} names a row without an identity of its own",
                name.escape_debug()
            )),
            None => {
                let mut offered: Vec<String> = self
                    .spec
                    .parameters
                    .iter()
                    .map(|p| format!(":{}", p.name))
                    .collect();
                offered.extend(bound.iter().map(|p| format!(":{}", p.name)));
                offered.extend(self.system.constants.keys().map(|c| format!(":{c}")));
                Err(format!(
                    "parameter :{} is not one {} supplies ({})",
                    name.escape_debug(),
                    self.spec.name,
                    offered.join(", ")
                ))
            }
        }
    }
}

fn compile_operation(
    scope: &Scope<'_>,
    raw: &RawOperation,
    default_isolation: Isolation,
) -> Result<Script, String> {
    if raw.steps.is_empty() {
        return Err("field 'steps': an operation needs at least one step".into());
    }
    let mut steps: Vec<Step> = Vec::new();
    let mut bound: Vec<Parameter> = Vec::new();
    for (index, step) in raw.steps.iter().enumerate() {
        let where_ = format!("step {} ({})", index + 1, quoted(&step.name));
        if steps.iter().any(|s| s.name == step.name) {
            return Err(format!(
                "{where_}, field 'name': another step has this name"
            ));
        }
        let compiled = compile_step(scope, step, &bound).map_err(|e| format!("{where_}, {e}"))?;
        bound.extend(compiled.binds.clone());
        steps.push(compiled);
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
        .map(|r| compile_refusal(scope, r))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("field 'refuse': {e}"))?;
    let retry = match &raw.retry {
        None => None,
        Some(retry) => {
            let sqlstates = retry
                .sqlstates
                .iter()
                .map(|code| sqlstate(code))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("field 'retry', field 'sqlstates': {e}"))?;
            if sqlstates.is_empty() || retry.attempts_max == 0 || retry.attempts_max > 10 {
                return Err(
                    "field 'retry': name at least one SQLSTATE and 1 <= attempts_max <= 10".into(),
                );
            }
            Some(Retry {
                sqlstates,
                attempts_max: retry.attempts_max,
            })
        }
    };
    Ok(Script {
        steps,
        transaction_from,
        isolation,
        refusals,
        retry,
    })
}

fn compile_refusal(scope: &Scope<'_>, raw: &RawRefusal) -> Result<Refusal, String> {
    let a = scope.parameter(&raw.equal[0], &[])?;
    let b = scope.parameter(&raw.equal[1], &[])?;
    Ok(Refusal {
        equal: (a.name, b.name),
        outcome: Outcome::parse(&raw.outcome)?,
    })
}

fn compile_step(scope: &Scope<'_>, raw: &RawStep, bound: &[Parameter]) -> Result<Step, String> {
    if raw.sql.trim().is_empty() {
        return Err("field 'sql' is empty".into());
    }
    let (sql, parameters) = compile_sql(&raw.sql, |name| scope.parameter(name, bound))
        .map_err(|e| format!("field 'sql': {e}"))?;
    let binds = match &raw.bind {
        None => None,
        Some(bind) => {
            let taken = scope.parameter(&bind.name, bound).is_ok();
            if taken || bind.name.is_empty() {
                return Err(format!(
                    "field 'bind': {} is empty or already a parameter",
                    quoted(&bind.name)
                ));
            }
            let sql_type =
                SqlType::parse(&bind.r#type).map_err(|e| format!("field 'bind': {e}"))?;
            Some(Parameter {
                name: bind.name.clone(),
                sql_type,
            })
        }
    };
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
        let code =
            sqlstate(&rule.sqlstate).map_err(|e| format!("field 'errors', rule {}: {e}", i + 1))?;
        let then =
            Then::parse(&rule.then).map_err(|e| format!("field 'errors', rule {}: {e}", i + 1))?;
        on_error.push((code, then));
    }
    Ok(Step {
        name: raw.name.clone(),
        footprint: super::Footprint::of_sql(scope.system, &sql),
        touches: super::touch::of_sql(scope.system, &raw.sql),
        sql,
        parameters,
        binds,
        on_rows,
        on_error,
    })
}

/// A SQLSTATE as written in a file, upper-cased.
pub(crate) fn sqlstate(code: &str) -> Result<String, String> {
    let code = code.trim();
    if code.len() != 5 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "{} is not a SQLSTATE (five characters, e.g. 40P01)",
            quoted(code)
        ));
    }
    Ok(code.to_ascii_uppercase())
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
            let cast = p.sql_type.cast();
            let index = match parameters.iter().position(|q| *q == p) {
                Some(index) => index,
                None => {
                    parameters.push(p);
                    parameters.len() - 1
                }
            };
            out.push_str(&format!("${}::{cast}", index + 1));
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
        let sql_type = if name == "team" {
            SqlType::Text
        } else {
            SqlType::Uuid
        };
        Ok(Parameter {
            name: name.into(),
            sql_type,
        })
    }

    #[test]
    fn placeholders_become_numbered_casts() {
        let (sql, params) =
            compile_sql(r#"SELECT :token::text, ':user', "a:b", :token, :team"#, any).unwrap();
        assert_eq!(
            sql,
            r#"SELECT $1::uuid::text, ':user', "a:b", $1::uuid, $2::text"#
        );
        let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["token", "team"]);
    }

    #[test]
    fn errors_name_operation_step_and_field() {
        let system = System::load("stack-auth").unwrap();
        let text = r#"
name = "x"
[operations.sign-out]
steps = [{ name = "record", sql = "SELECT :team" }]
"#;
        let err = parse(&system, text).unwrap_err();
        assert!(
            err.starts_with(
                "operation 'sign-out', step 1 ('record'), field 'sql': parameter :team"
            ),
            "{err}"
        );
    }

    #[test]
    fn toml_errors_are_one_line_with_a_line_number() {
        let system = System::load("stack-auth").unwrap();
        let err = parse(&system, "name = \"x\"\n[operations.sign-out]\nstepz = 1\n").unwrap_err();
        assert!(!err.contains('\n') && err.starts_with("line "), "{err}");
    }
}
