//! Which rows a statement can reach, read from its SQL once when the file is
//! compiled: for every table it names, what it does there (reads, locks,
//! inserts, updates, deletes) and the equalities that narrow the rows
//! (`"id" = :token`, or the columns an INSERT gives). `crate::reach` resolves
//! these against a case's rows. Anything this reading does not recognise
//! counts as every row of the table: a coarse answer costs schedules, a wrong
//! one would skip a behaviour.

use crate::system::System;

/// Where a statement's rows live.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Space {
    /// An entity's table, by index into `System::entities`.
    Entity(usize),
    /// Every tombstone table, its rows named by the row each one records.
    Tombstones,
    /// A table the system does not declare, by name.
    Other(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Read,
    /// `FOR UPDATE`, `FOR SHARE` and the like.
    Lock,
    Insert,
    Update,
    Delete,
}

/// Which rows of the space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Narrowing {
    Every,
    /// Rows where every `(column, parameter)` pair is equal.
    Equal(Vec<(String, String)>),
    /// A tombstone insert: the tombstones of the entity rows the same
    /// statement reaches.
    Sources,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Touch {
    pub space: Space,
    pub action: Action,
    pub rows: Narrowing,
    /// The columns an INSERT into an entity's table gives or an UPDATE
    /// sets, which decide the unique keys it must pass; `None` where the
    /// SQL does not name them one by one (an INSERT without a column list,
    /// `ON CONFLICT … DO UPDATE`), empty for other actions.
    pub columns: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Parameter(String),
    Literal,
    Punct(char),
}

impl Token {
    fn is(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    fn name(&self) -> Option<&str> {
        match self {
            Token::Word(w) | Token::Quoted(w) => Some(w),
            _ => None,
        }
    }
}

/// Words, quoted names, `:parameters`, literals and punctuation, with each
/// token's parenthesis depth; casts (`::uuid`) and comments are dropped.
fn tokens(sql: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut depth) = (0, 0usize);
    let word_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '"' || c == '\'' {
            let mut text = String::new();
            i += 1;
            while i < chars.len() {
                if chars[i] == c {
                    if chars.get(i + 1) == Some(&c) {
                        text.push(c);
                        i += 2;
                        continue;
                    }
                    break;
                }
                text.push(chars[i]);
                i += 1;
            }
            i += 1;
            let token = if c == '"' {
                Token::Quoted(text)
            } else {
                Token::Literal
            };
            out.push((token, depth));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            // A cast: skip the type's name (one word, maybe `[]`).
            i += 2;
            while i < chars.len() && (word_char(chars[i]) || chars[i] == '[' || chars[i] == ']') {
                i += 1;
            }
        } else if c == ':'
            && chars
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_alphabetic() || *n == '_')
        {
            let start = i + 1;
            i = start;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((Token::Parameter(chars[start..i].iter().collect()), depth));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.push((Token::Literal, depth));
        } else if word_char(c) {
            let start = i;
            while i < chars.len() && word_char(chars[i]) {
                i += 1;
            }
            out.push((Token::Word(chars[start..i].iter().collect()), depth));
        } else {
            if c == ')' {
                depth = depth.saturating_sub(1);
            }
            out.push((Token::Punct(c), depth));
            if c == '(' {
                depth += 1;
            }
            i += 1;
        }
    }
    out
}

/// Words that end a table reference's clause or start another.
const CLAUSE_WORDS: &[&str] = &[
    "where",
    "set",
    "join",
    "inner",
    "left",
    "right",
    "full",
    "cross",
    "natural",
    "on",
    "using",
    "returning",
    "for",
    "order",
    "group",
    "having",
    "limit",
    "offset",
    "union",
    "except",
    "intersect",
    "values",
    "select",
    "from",
    "window",
    "do",
];

/// What a statement's SQL reaches, table by table.
pub fn of_sql(system: &System, sql: &str) -> Vec<Touch> {
    let tokens = tokens(sql);
    let locks = tokens.windows(2).any(|w| {
        w[0].0.is("for")
            && (w[1].0.is("update") || w[1].0.is("share") || w[1].0.is("no") || w[1].0.is("key"))
    });
    let upserts = tokens
        .windows(2)
        .any(|w| w[0].0.is("on") && w[1].0.is("conflict"));
    let tombstone_tables = system.tombstone_tables();
    let ctes = cte_names(&tokens);
    let mut touches = Vec::new();
    for (at, (token, _)) in tokens.iter().enumerate() {
        let Some(name) = token.name() else { continue };
        let dotted = |j: Option<usize>| {
            j.and_then(|j| tokens.get(j))
                .is_some_and(|(t, _)| *t == Token::Punct('.'))
        };
        if dotted(at.checked_sub(1)) || dotted(Some(at + 1)) {
            continue;
        }
        let action = action_before(&tokens, at, locks);
        let entity = system
            .entities
            .iter()
            .position(|e| names(token, name, &e.table));
        let space = if let Some(entity) = entity {
            Space::Entity(entity)
        } else if tombstone_tables.iter().any(|t| names(token, name, t)) {
            Space::Tombstones
        } else if let Some(action) = action.filter(|_| table_position(&tokens, at)) {
            let name = name.to_string();
            if ctes.contains(&name.to_ascii_lowercase()) || name.starts_with("harness") {
                continue;
            }
            touches.push(Touch {
                space: Space::Other(name),
                action,
                rows: Narrowing::Every,
                columns: None,
            });
            continue;
        } else {
            continue;
        };
        let mut action = action.unwrap_or(Action::Read);
        if space == Space::Tombstones && action == Action::Insert && upserts {
            // `ON CONFLICT` decides between two inserts: they are updates.
            action = Action::Update;
        }
        let rows = match (&space, action) {
            (Space::Tombstones, Action::Update) => Narrowing::Sources,
            (Space::Tombstones, Action::Insert) => Narrowing::Sources,
            (Space::Tombstones, _) => Narrowing::Every,
            (Space::Entity(e), Action::Insert) => inserted(&tokens, at, system, *e),
            (Space::Entity(e), _) => narrowed(&tokens, at, system, *e),
            (Space::Other(_), _) => Narrowing::Every,
        };
        let columns = match (&space, action) {
            (Space::Entity(_), Action::Insert) if upserts => None,
            (Space::Entity(_), Action::Insert) => inserted_columns(&tokens, at),
            (Space::Entity(_), Action::Update) => assigned_columns(&tokens, at),
            (Space::Entity(_), _) => Some(Vec::new()),
            _ => None,
        };
        touches.push(Touch {
            space,
            action,
            rows,
            columns,
        });
    }
    touches
}

fn names(token: &Token, name: &str, table: &str) -> bool {
    match token {
        Token::Quoted(_) => name == table,
        _ => {
            table
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && name.eq_ignore_ascii_case(table)
        }
    }
}

/// `WITH d AS (…)`: names that stand for a statement's own results.
fn cte_names(tokens: &[(Token, usize)]) -> Vec<String> {
    tokens
        .windows(3)
        .filter(|w| w[1].0.is("as") && w[2].0 == Token::Punct('('))
        .filter_map(|w| w[0].0.name().map(str::to_ascii_lowercase))
        .collect()
}

/// Whether the name at `at` stands where a table does (after FROM, JOIN,
/// INTO or UPDATE) and is not a function call.
fn table_position(tokens: &[(Token, usize)], at: usize) -> bool {
    let before = at.checked_sub(1).map(|j| &tokens[j].0);
    // After INTO a parenthesis opens the column list, elsewhere a call.
    let call = tokens
        .get(at + 1)
        .is_some_and(|(t, _)| *t == Token::Punct('('));
    before.is_some_and(|t| t.is("into") || t.is("update"))
        || !call && before.is_some_and(|t| t.is("from") || t.is("join"))
}

/// What the statement does to the table named at `at`, from the words
/// before it; `None` where nothing says (a column, or a name in passing).
fn action_before(tokens: &[(Token, usize)], at: usize, locks: bool) -> Option<Action> {
    let word = |back: usize| at.checked_sub(back).map(|j| &tokens[j].0);
    let read = if locks { Action::Lock } else { Action::Read };
    match (word(2), word(1)) {
        (Some(d), Some(f)) if d.is("delete") && f.is("from") => Some(Action::Delete),
        (Some(i), Some(n)) if i.is("insert") && n.is("into") => Some(Action::Insert),
        (_, Some(u)) if u.is("update") => Some(Action::Update),
        (_, Some(f)) if f.is("from") || f.is("join") => Some(read),
        _ => None,
    }
}

/// The column that holds `entity`'s own identity, and those holding each
/// parent's (maybe as text): the only columns an equality can narrow by.
fn identifying(system: &System, entity: usize, column: &str) -> bool {
    system.entities[entity]
        .columns
        .iter()
        .any(|(name, value)| name == column && value.identity().is_some())
}

/// `INSERT INTO t (a, b) VALUES (:x, :y)`: the inserted row is where
/// a = :x and b = :y. Several rows, or rows from a SELECT: every row.
fn inserted(tokens: &[(Token, usize)], at: usize, system: &System, entity: usize) -> Narrowing {
    let depth = tokens[at].1;
    let Some(columns) = list_after(tokens, at + 1, depth) else {
        return Narrowing::Every;
    };
    let values_at = at + 1 + columns.len() + 2;
    if !tokens.get(values_at).is_some_and(|(t, _)| t.is("values")) {
        return Narrowing::Every;
    }
    let Some(values) = list_after(tokens, values_at + 1, depth) else {
        return Narrowing::Every;
    };
    if tokens
        .get(values_at + 1 + values.len() + 2)
        .is_some_and(|(t, _)| *t == Token::Punct(','))
    {
        return Narrowing::Every;
    }
    let names = split_top(&columns, depth + 1, |t| *t == Token::Punct(','));
    let values = split_top(&values, depth + 1, |t| *t == Token::Punct(','));
    let mut equal = Vec::new();
    for (name, value) in names.iter().zip(&values) {
        if let ([(column, _)], [(Token::Parameter(p), _)]) = (name.as_slice(), value.as_slice())
            && let Some(column) = column.name()
            && identifying(system, entity, column)
        {
            equal.push((column.to_string(), p.clone()));
        }
    }
    if equal.is_empty() {
        Narrowing::Every
    } else {
        Narrowing::Equal(equal)
    }
}

/// `INSERT INTO t (a, b) …`: a and b, as the catalog spells them.
fn inserted_columns(tokens: &[(Token, usize)], at: usize) -> Option<Vec<String>> {
    let depth = tokens[at].1;
    let list = list_after(tokens, at + 1, depth)?;
    split_top(&list, depth + 1, |t| *t == Token::Punct(','))
        .iter()
        .map(|column| match column.as_slice() {
            [(name, _)] => column_name(name),
            _ => None,
        })
        .collect()
}

/// `UPDATE t [AS x] SET a = …, b = …`: a and b, as the catalog spells them.
fn assigned_columns(tokens: &[(Token, usize)], at: usize) -> Option<Vec<String>> {
    let depth = tokens[at].1;
    let set = (at + 1..tokens.len().min(at + 4))
        .find(|&j| tokens[j].1 == depth && tokens[j].0.is("set"))?;
    let end = (set + 1..tokens.len())
        .find(|&j| {
            let (t, d) = &tokens[j];
            *d < depth
                || *d == depth
                    && (*t == Token::Punct(';')
                        || ["where", "from", "returning"].iter().any(|w| t.is(w)))
        })
        .unwrap_or(tokens.len());
    split_top(&tokens[set + 1..end], depth, |t| *t == Token::Punct(','))
        .iter()
        .map(|assignment| match assignment.as_slice() {
            [(name, _), (Token::Punct('='), _), ..] => column_name(name),
            _ => None,
        })
        .collect()
}

/// A column as PostgreSQL stores its name: quoted as written, a bare word
/// folded to lower case.
fn column_name(token: &Token) -> Option<String> {
    match token {
        Token::Quoted(name) => Some(name.clone()),
        Token::Word(word) => Some(word.to_ascii_lowercase()),
        _ => None,
    }
}

/// The tokens inside the parentheses that open at `from`, if they do.
fn list_after(tokens: &[(Token, usize)], from: usize, depth: usize) -> Option<Vec<(Token, usize)>> {
    if tokens.get(from)?.0 != Token::Punct('(') {
        return None;
    }
    let close = (from + 1..tokens.len())
        .find(|&j| tokens[j].0 == Token::Punct(')') && tokens[j].1 == depth)?;
    Some(tokens[from + 1..close].to_vec())
}

fn split_top(
    tokens: &[(Token, usize)],
    depth: usize,
    separator: impl Fn(&Token) -> bool,
) -> Vec<Vec<(Token, usize)>> {
    let mut parts = vec![Vec::new()];
    for (token, d) in tokens {
        if *d == depth && separator(token) {
            parts.push(Vec::new());
        } else {
            parts
                .last_mut()
                .expect("one part")
                .push((token.clone(), *d));
        }
    }
    parts
}

/// The rows a DELETE, UPDATE or SELECT reaches in the table named at `at`:
/// its own WHERE clause's top-level `column = :parameter` equalities.
fn narrowed(tokens: &[(Token, usize)], at: usize, system: &System, entity: usize) -> Narrowing {
    let depth = tokens[at].1;
    let mut i = at + 1;
    // An alias: `FROM t x` or `FROM t AS x`. A qualified column narrows
    // this table only under its own name or alias.
    let mut own = vec![tokens[at].0.name().unwrap_or_default().to_string()];
    if tokens.get(i).is_some_and(|(t, _)| t.is("as")) {
        i += 1;
    }
    if let Some((t, _)) = tokens.get(i)
        && let Some(alias) = t.name()
        && !CLAUSE_WORDS.iter().any(|w| t.is(w))
    {
        own.push(alias.to_string());
        i += 1;
    }
    if tokens.get(i).is_some_and(|(t, _)| t.is("set")) {
        // An UPDATE that moves a row to another parent or identity reaches
        // rows no equality on the old values names.
        let end = (i..tokens.len())
            .find(|&j| tokens[j].1 == depth && tokens[j].0.is("where"))
            .unwrap_or(tokens.len());
        let assigned = tokens[i..end].windows(2).any(|w| {
            w[1].0 == Token::Punct('=')
                && w[0]
                    .0
                    .name()
                    .is_some_and(|c| identifying(system, entity, c))
        });
        if assigned {
            return Narrowing::Every;
        }
        i = end;
    }
    if !tokens
        .get(i)
        .is_some_and(|(t, d)| *d == depth && t.is("where"))
    {
        return Narrowing::Every;
    }
    let end = (i + 1..tokens.len())
        .find(|&j| {
            let (t, d) = &tokens[j];
            *d < depth
                || (*d == depth
                    && (*t == Token::Punct(';')
                        || [
                            "returning",
                            "order",
                            "group",
                            "limit",
                            "for",
                            "union",
                            "except",
                            "intersect",
                            "having",
                            "offset",
                            "window",
                        ]
                        .iter()
                        .any(|w| t.is(w))))
        })
        .unwrap_or(tokens.len());
    let clause = &tokens[i + 1..end];
    if clause.iter().any(|(t, d)| *d == depth && t.is("or")) {
        return Narrowing::Every;
    }
    let mut equal = Vec::new();
    for conjunct in split_top(clause, depth, |t| t.is("and")) {
        let plain: Vec<&Token> = conjunct.iter().map(|(t, _)| t).collect();
        // `col = :p`, `q.col = :p`, and the same the other way round.
        let pair = match plain.as_slice() {
            [c, Token::Punct('='), Token::Parameter(p)]
            | [Token::Parameter(p), Token::Punct('='), c] => c.name().map(|c| (c, p)),
            [
                q,
                Token::Punct('.'),
                c,
                Token::Punct('='),
                Token::Parameter(p),
            ]
            | [
                Token::Parameter(p),
                Token::Punct('='),
                q,
                Token::Punct('.'),
                c,
            ] if q.name().is_some_and(|q| own.iter().any(|o| o == q)) => c.name().map(|c| (c, p)),
            _ => None,
        };
        if let Some((column, parameter)) = pair
            && identifying(system, entity, column)
        {
            equal.push((column.to_string(), parameter.clone()));
        }
    }
    if equal.is_empty() {
        Narrowing::Every
    } else {
        Narrowing::Equal(equal)
    }
}
