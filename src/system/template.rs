//! Column values of a world's rows, written in `system.toml` as SQL with
//! holes: `$id` (the row's own identity), `$label` (`u1`), `$user` (the
//! identity of its parent of entity `user`) and `:tenancy` (a constant).

use crate::text::quoted;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Sql(String),
    Id,
    Label,
    /// The identity of the parent at this index of the entity's parents.
    Parent(usize),
    Constant(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<Part>,
}

impl Template {
    /// Reads `text`, resolving `$name` against `parents` (entity names) and
    /// checking `:name` against `constants`.
    pub fn parse(text: &str, parents: &[&str], constants: &[&str]) -> Result<Template, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut parts = Vec::new();
        let mut sql = String::new();
        let mut quote: Option<char> = None;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if let Some(q) = quote {
                sql.push(c);
                if c == q {
                    quote = None;
                }
                i += 1;
                continue;
            }
            let next_is_name = chars
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_alphabetic() || *n == '_');
            let after_colon = i > 0 && chars[i - 1] == ':';
            if (c == '$' || (c == ':' && !after_colon)) && next_is_name {
                let end = (i + 1..chars.len())
                    .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '_'))
                    .unwrap_or(chars.len());
                let name: String = chars[i + 1..end].iter().collect();
                if !sql.is_empty() {
                    parts.push(Part::Sql(std::mem::take(&mut sql)));
                }
                parts.push(hole(c, &name, parents, constants)?);
                i = end;
                continue;
            }
            if c == '\'' || c == '"' {
                quote = Some(c);
            }
            sql.push(c);
            i += 1;
        }
        if quote.is_some() {
            return Err("a quote is never closed".into());
        }
        if !sql.is_empty() {
            parts.push(Part::Sql(sql));
        }
        if parts.is_empty() {
            return Err("the value is empty".into());
        }
        Ok(Template { parts })
    }

    /// The single hole this template is, if it is nothing else (key
    /// columns must be, so the harness knows every key it seeds).
    pub fn single(&self) -> Option<&Part> {
        match self.parts.as_slice() {
            [part] if !matches!(part, Part::Sql(_)) => Some(part),
            _ => None,
        }
    }

    /// The row identity this value stands for one to one: `$id` or a
    /// parent's hole, alone or cast to text (a unique token column that
    /// holds `$id::text`). An equality on such a column names rows.
    pub fn identity(&self) -> Option<&Part> {
        let cast_to_text = |sql: &str| {
            let plain: String = sql.split_whitespace().collect();
            plain.eq_ignore_ascii_case("::text")
        };
        match self.parts.as_slice() {
            [part @ (Part::Id | Part::Parent(_))] => Some(part),
            [part @ (Part::Id | Part::Parent(_)), Part::Sql(cast)] if cast_to_text(cast) => {
                Some(part)
            }
            _ => None,
        }
    }
}

fn hole(sigil: char, name: &str, parents: &[&str], constants: &[&str]) -> Result<Part, String> {
    if sigil == ':' {
        return match constants.contains(&name) {
            true => Ok(Part::Constant(name.to_string())),
            false => Err(format!(
                ":{} is not a constant of this system ({})",
                name.escape_debug(),
                listed(constants, ":")
            )),
        };
    }
    match name {
        "id" => Ok(Part::Id),
        "label" => Ok(Part::Label),
        _ => match parents.iter().position(|p| *p == name) {
            Some(index) => Ok(Part::Parent(index)),
            None => Err(format!(
                "{} is neither $id, $label nor a parent ({})",
                quoted(&format!("${name}")),
                listed(parents, "$")
            )),
        },
    }
}

fn listed(names: &[&str], sigil: &str) -> String {
    if names.is_empty() {
        return "there are none".into();
    }
    let names: Vec<String> = names.iter().map(|n| format!("{sigil}{n}")).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_are_found_outside_quotes_and_casts() {
        let t = Template::parse(
            "jsonb_build_object('team_id', $team, ':x $y')::jsonb || :c",
            &["team"],
            &["c"],
        )
        .unwrap();
        assert_eq!(
            t.parts,
            vec![
                Part::Sql("jsonb_build_object('team_id', ".into()),
                Part::Parent(0),
                Part::Sql(", ':x $y')::jsonb || ".into()),
                Part::Constant("c".into()),
            ]
        );
        assert_eq!(
            Template::parse("$id", &[], &[]).unwrap().single(),
            Some(&Part::Id)
        );
    }

    #[test]
    fn an_identity_may_be_cast_to_text_and_nothing_else() {
        let identity = |text: &str| {
            Template::parse(text, &["user"], &[])
                .unwrap()
                .identity()
                .cloned()
        };
        assert_eq!(identity("$id"), Some(Part::Id));
        assert_eq!(identity("$id::text"), Some(Part::Id));
        assert_eq!(identity("$user :: TEXT"), Some(Part::Parent(0)));
        assert_eq!(identity("$id::date"), None);
        assert_eq!(identity("$id || 'x'"), None);
        assert_eq!(identity("$label"), None);
    }

    #[test]
    fn unknown_holes_are_named() {
        let err = Template::parse("$usr", &["user"], &[]).unwrap_err();
        assert_eq!(err, "'$usr' is neither $id, $label nor a parent ($user)");
        let err = Template::parse(":tenant", &[], &["tenancy"]).unwrap_err();
        assert_eq!(err, ":tenant is not a constant of this system (:tenancy)");
    }
}
