//! Just enough of PostgreSQL's lexical structure to change a statement in
//! place: tokens with their byte spans and parenthesis depth, lists split at
//! their own commas, and the few statement shapes the operators rewrite.
//! Everything answers in byte ranges of the original text, so whatever an
//! operator leaves alone keeps its exact spelling and line breaks.
//!
//! Owns: lexing (string literals with doubled quotes and `E'…'` escapes,
//! quoted identifiers, comments) and finding the shapes below. Must not know:
//! systems, implementation files, which change an operator makes.

use std::ops::Range;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A keyword, a bare identifier or a number.
    Word,
    /// `"Identifier"`.
    Quoted,
    /// `'text'` or `E'text'`.
    Literal,
    /// Any other single character.
    Symbol,
}

#[derive(Clone, Copy, Debug)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
    /// Parentheses open around it; a `(` and its `)` have the depth outside.
    depth: usize,
}

/// Words that end a `WHERE` clause standing at the clause's own depth.
const WHERE_ENDS: &[&str] = &[
    "returning",
    "group",
    "order",
    "limit",
    "offset",
    "fetch",
    "for",
    "having",
    "window",
    "union",
    "intersect",
    "except",
    "on",
    "do",
];

/// Words that end the select list of `INSERT … SELECT`.
const SELECT_LIST_ENDS: &[&str] = &[
    "from",
    "where",
    "group",
    "having",
    "window",
    "order",
    "limit",
    "offset",
    "fetch",
    "for",
    "union",
    "intersect",
    "except",
    "returning",
    "on",
];

/// A statement that lexed cleanly (every quote and parenthesis closed).
struct Sql<'a> {
    text: &'a str,
    tokens: Vec<Token>,
}

fn is_word_byte(b: u8) -> bool {
    // Bytes of non-ASCII characters count as word bytes, so a token never
    // ends inside a character.
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// The end of a quoted run opened at `open`: a doubled quote stands for
/// itself, and with `backslash` (`E'…'`) a backslash escapes the next byte.
fn quoted_end(bytes: &[u8], open: usize, quote: u8, backslash: bool) -> Option<usize> {
    let mut j = open + 1;
    while j < bytes.len() {
        if backslash && bytes[j] == b'\\' {
            j += 2;
        } else if bytes[j] == quote {
            if bytes.get(j + 1) == Some(&quote) {
                j += 2;
            } else {
                return Some(j + 1);
            }
        } else {
            j += 1;
        }
    }
    None
}

impl<'a> Sql<'a> {
    fn lex(text: &'a str) -> Option<Sql<'a>> {
        let bytes = text.as_bytes();
        let mut tokens = Vec::new();
        let mut depth = 0usize;
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            if c.is_ascii_whitespace() {
                i += 1;
                continue;
            }
            if bytes[i..].starts_with(b"--") {
                i = text[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
                continue;
            }
            if bytes[i..].starts_with(b"/*") {
                // PostgreSQL's block comments nest.
                let mut open = 0usize;
                loop {
                    if i >= bytes.len() {
                        return None;
                    } else if bytes[i..].starts_with(b"/*") {
                        open += 1;
                        i += 2;
                    } else if bytes[i..].starts_with(b"*/") {
                        open -= 1;
                        i += 2;
                        if open == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            let start = i;
            let mut token_depth = depth;
            let kind = match c {
                b'\'' => {
                    i = quoted_end(bytes, i, b'\'', false)?;
                    Kind::Literal
                }
                b'"' => {
                    i = quoted_end(bytes, i, b'"', false)?;
                    Kind::Quoted
                }
                c if is_word_byte(c) => {
                    while i < bytes.len() && is_word_byte(bytes[i]) {
                        i += 1;
                    }
                    let escape_prefix = i == start + 1 && (c == b'E' || c == b'e');
                    if escape_prefix && bytes.get(i) == Some(&b'\'') {
                        i = quoted_end(bytes, i, b'\'', true)?;
                        Kind::Literal
                    } else {
                        Kind::Word
                    }
                }
                _ => {
                    i += text[i..].chars().next().map_or(1, char::len_utf8);
                    if c == b'(' {
                        depth += 1;
                    } else if c == b')' {
                        depth = depth.checked_sub(1)?;
                        token_depth = depth;
                    }
                    Kind::Symbol
                }
            };
            tokens.push(Token {
                kind,
                start,
                end: i,
                depth: token_depth,
            });
        }
        (depth == 0).then_some(Sql { text, tokens })
    }

    fn str(&self, i: usize) -> &'a str {
        &self.text[self.tokens[i].start..self.tokens[i].end]
    }

    /// Whether token `i` is the keyword `word` (lower case).
    fn is(&self, i: usize, word: &str) -> bool {
        i < self.tokens.len()
            && self.tokens[i].kind == Kind::Word
            && self.str(i).eq_ignore_ascii_case(word)
    }

    fn is_symbol(&self, i: usize, symbol: &str) -> bool {
        i < self.tokens.len() && self.tokens[i].kind == Kind::Symbol && self.str(i) == symbol
    }

    fn is_name(&self, i: usize) -> bool {
        i < self.tokens.len() && matches!(self.tokens[i].kind, Kind::Word | Kind::Quoted)
    }

    /// The bytes from token `first` to token `last`, both included.
    fn bytes(&self, first: usize, last: usize) -> Range<usize> {
        self.tokens[first].start..self.tokens[last].end
    }

    /// The `)` closing the `(` at token `open`.
    fn closing(&self, open: usize) -> Option<usize> {
        let depth = self.tokens[open].depth;
        (open + 1..self.tokens.len())
            .find(|&j| self.is_symbol(j, ")") && self.tokens[j].depth == depth)
    }

    /// Tokens `from..to` split at the commas standing at `depth`, as token
    /// ranges; `None` when an item is empty.
    fn split(&self, from: usize, to: usize, depth: usize) -> Option<Vec<Range<usize>>> {
        let mut items = Vec::new();
        let mut start = from;
        for j in from..to {
            if self.is_symbol(j, ",") && self.tokens[j].depth == depth {
                items.push(start..j);
                start = j + 1;
            }
        }
        items.push(start..to);
        items.iter().all(|r| !r.is_empty()).then_some(items)
    }

    fn item_bytes(&self, item: &Range<usize>) -> Range<usize> {
        self.bytes(item.start, item.end - 1)
    }

    /// A dotted name starting at token `i` (`"T"`, `public.t`): the index
    /// of its last part.
    fn dotted_name(&self, i: usize) -> Option<usize> {
        if !self.is_name(i) {
            return None;
        }
        let mut last = i;
        while self.is_symbol(last + 1, ".") && self.is_name(last + 2) {
            last += 2;
        }
        Some(last)
    }
}

/// Whether `written` (an identifier as SQL spells it) names `name`: a
/// quoted identifier exactly, a bare one as PostgreSQL folds it, which we
/// take case-insensitively so a file's spelling never hides a column.
pub(crate) fn same_name(written: &str, name: &str) -> bool {
    if written.starts_with('"') {
        unquoted(written) == name
    } else {
        written.eq_ignore_ascii_case(name)
    }
}

/// The value of a plain string literal (`'it''s'` is `it's`).
pub(crate) fn string_literal(text: &str) -> Option<String> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    let sql = Sql::lex(text)?;
    (sql.tokens.len() == 1 && sql.tokens[0].kind == Kind::Literal).then(|| inner.replace("''", "'"))
}

/// `text` as a plain string literal.
pub(crate) fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `text` applied `edits` (byte range → replacement), which must not
/// overlap.
pub(crate) fn apply(text: &str, edits: &[(Range<usize>, String)]) -> String {
    let mut sorted: Vec<&(Range<usize>, String)> = edits.iter().collect();
    sorted.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    let mut out = text.to_string();
    for (range, replacement) in sorted {
        out.replace_range(range.clone(), replacement);
    }
    out
}

/// What removing item `index` of a list (item ranges in order) takes away:
/// the item and the comma on one side, so the rest keeps its layout.
/// `None` for the only item.
pub(crate) fn list_removal(items: &[Range<usize>], index: usize) -> Option<Range<usize>> {
    if items.len() < 2 || index >= items.len() {
        return None;
    }
    Some(if index + 1 < items.len() {
        items[index].start..items[index + 1].start
    } else {
        items[index - 1].end..items[index].end
    })
}

/// One locking clause (`FOR UPDATE`, `FOR NO KEY UPDATE`, `FOR SHARE`,
/// `FOR KEY SHARE`, with its `OF …`, `NOWAIT` or `SKIP LOCKED`).
pub(crate) struct Locking {
    pub clause: Range<usize>,
    /// The clause with the blank before it.
    pub removal: Range<usize>,
}

pub(crate) fn locking_clauses(text: &str) -> Vec<Locking> {
    let Some(sql) = Sql::lex(text) else {
        return Vec::new();
    };
    let strengths: [&[&str]; 4] = [
        &["update"],
        &["no", "key", "update"],
        &["share"],
        &["key", "share"],
    ];
    let mut found = Vec::new();
    for i in 1..sql.tokens.len() {
        if !sql.is(i, "for") {
            continue;
        }
        let Some(words) = strengths
            .iter()
            .find(|words| words.iter().enumerate().all(|(k, w)| sql.is(i + 1 + k, w)))
        else {
            continue;
        };
        let mut last = i + words.len();
        if sql.is(last + 1, "of")
            && let Some(end) = sql.dotted_name(last + 2)
        {
            last = end;
            while sql.is_symbol(last + 1, ",")
                && let Some(end) = sql.dotted_name(last + 2)
            {
                last = end;
            }
        }
        if sql.is(last + 1, "nowait") {
            last += 1;
        } else if sql.is(last + 1, "skip") && sql.is(last + 2, "locked") {
            last += 2;
        }
        found.push(Locking {
            clause: sql.bytes(i, last),
            removal: sql.tokens[i - 1].end..sql.tokens[last].end,
        });
    }
    found
}

/// One conjunct of a `WHERE` clause that has several.
pub(crate) struct Conjunct {
    pub conjunct: Range<usize>,
    /// The conjunct with one `AND` beside it.
    pub removal: Range<usize>,
}

/// The conjuncts of every `WHERE` clause (of a `SELECT`, `UPDATE` or
/// `DELETE`, inside subqueries and CTEs too) that is a conjunction of two
/// or more, in text order. A clause with `OR` at its own level is left out:
/// its `AND`s bind tighter and are not conjuncts of the whole.
pub(crate) fn conjuncts(text: &str) -> Vec<Conjunct> {
    let Some(sql) = Sql::lex(text) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for i in 0..sql.tokens.len() {
        if !sql.is(i, "where") {
            continue;
        }
        let depth = sql.tokens[i].depth;
        let end = (i + 1..sql.tokens.len())
            .find(|&j| {
                let t = sql.tokens[j];
                t.depth < depth
                    || (t.depth == depth
                        && (sql.is_symbol(j, ";") || WHERE_ENDS.iter().any(|w| sql.is(j, w))))
            })
            .unwrap_or(sql.tokens.len());
        // `BETWEEN a AND b` and `CASE … END` hold ANDs that are not ours.
        let mut between = false;
        let mut case = 0usize;
        let mut disjunction = false;
        let mut items = Vec::new();
        let mut start = i + 1;
        for j in i + 1..end {
            if sql.tokens[j].depth != depth {
                continue;
            }
            if sql.is(j, "case") {
                case += 1;
                continue;
            }
            if sql.is(j, "end") {
                case = case.saturating_sub(1);
                continue;
            }
            if case > 0 {
                continue;
            }
            if sql.is(j, "between") {
                between = true;
            } else if sql.is(j, "or") {
                disjunction = true;
            } else if sql.is(j, "and") {
                if between {
                    between = false;
                } else {
                    items.push(start..j);
                    start = j + 1;
                }
            }
        }
        items.push(start..end);
        if disjunction || items.len() < 2 || items.iter().any(|r| r.is_empty()) {
            continue;
        }
        let ranges: Vec<Range<usize>> = items.iter().map(|r| sql.item_bytes(r)).collect();
        for (k, conjunct) in ranges.iter().enumerate() {
            let removal = if k == 0 {
                conjunct.start..ranges[1].start
            } else {
                ranges[k - 1].end..conjunct.end
            };
            found.push(Conjunct {
                conjunct: conjunct.clone(),
                removal,
            });
        }
    }
    found
}

/// `INSERT INTO t (c1, c2) VALUES (v1, v2)[, (…)]` or `INSERT INTO t (c1,
/// c2) SELECT v1, v2 [FROM …]`, anywhere in a statement.
pub(crate) struct Insert {
    /// The table's name as written, without a schema.
    pub table: String,
    /// Each column's name as written, and where it stands.
    pub columns: Vec<(String, Range<usize>)>,
    /// The value of each column, per `VALUES` row (one row for a `SELECT`).
    pub rows: Vec<Vec<Range<usize>>>,
}

pub(crate) fn inserts(text: &str) -> Vec<Insert> {
    let Some(sql) = Sql::lex(text) else {
        return Vec::new();
    };
    (0..sql.tokens.len())
        .filter(|&i| sql.is(i, "insert") && sql.is(i + 1, "into"))
        .filter_map(|i| insert_at(&sql, i))
        .collect()
}

fn insert_at(sql: &Sql<'_>, insert: usize) -> Option<Insert> {
    let depth = sql.tokens[insert].depth;
    let name = sql.dotted_name(insert + 2)?;
    let mut open = name + 1;
    if sql.is(open, "as") {
        open += 2;
    }
    if !sql.is_symbol(open, "(") {
        return None;
    }
    let close = sql.closing(open)?;
    let mut columns = Vec::new();
    for item in sql.split(open + 1, close, depth + 1)? {
        if item.len() != 1 || !sql.is_name(item.start) {
            return None;
        }
        columns.push((sql.str(item.start).to_string(), sql.item_bytes(&item)));
    }
    let mut rows = Vec::new();
    let mut next = close + 1;
    if sql.is(next, "values") {
        loop {
            if !sql.is_symbol(next + 1, "(") {
                return None;
            }
            let close = sql.closing(next + 1)?;
            let row = sql.split(next + 2, close, depth + 1)?;
            rows.push(row.iter().map(|item| sql.item_bytes(item)).collect());
            if !sql.is_symbol(close + 1, ",") {
                break;
            }
            next = close + 1;
        }
    } else if sql.is(next, "select") {
        let mut from = next + 1;
        if sql.is(from, "distinct") && sql.is(from + 1, "on") {
            return None;
        }
        if sql.is(from, "all") || sql.is(from, "distinct") {
            from += 1;
        }
        let at_level = |j: usize| sql.tokens[j].depth == depth;
        let statement_end = (from..sql.tokens.len())
            .find(|&j| sql.tokens[j].depth < depth || (at_level(j) && sql.is_symbol(j, ";")))
            .unwrap_or(sql.tokens.len());
        let to = (from..statement_end)
            .find(|&j| at_level(j) && SELECT_LIST_ENDS.iter().any(|w| sql.is(j, w)))
            .unwrap_or(statement_end);
        // A set operation would need the same change in every branch.
        let set_operation = (to..statement_end).any(|j| {
            at_level(j)
                && ["union", "intersect", "except"]
                    .iter()
                    .any(|w| sql.is(j, w))
        });
        if set_operation {
            return None;
        }
        let row = sql.split(from, to, depth)?;
        rows.push(
            row.iter()
                .map(|item| select_value(sql, item, depth))
                .collect(),
        );
    } else {
        return None;
    }
    rows.iter()
        .all(|row: &Vec<Range<usize>>| row.len() == columns.len())
        .then(|| Insert {
            table: sql.str(name).to_string(),
            columns,
            rows,
        })
}

/// A select item without its `AS alias`, which carries no value.
fn select_value(sql: &Sql<'_>, item: &Range<usize>, depth: usize) -> Range<usize> {
    let aliased = item.len() >= 3
        && sql.is(item.end - 2, "as")
        && sql.tokens[item.end - 2].depth == depth
        && sql.is_name(item.end - 1);
    if aliased {
        sql.bytes(item.start, item.end - 3)
    } else {
        sql.item_bytes(item)
    }
}

/// `name(arg, …)` filling all of `text`: the function's name as written
/// and its arguments' byte ranges.
pub(crate) fn call(text: &str) -> Option<(String, Vec<Range<usize>>)> {
    let sql = Sql::lex(text)?;
    let n = sql.tokens.len();
    if n < 3 || !sql.is_name(0) || !sql.is_symbol(1, "(") || sql.closing(1)? != n - 1 {
        return None;
    }
    let args = if n == 3 {
        Vec::new()
    } else {
        sql.split(2, n - 1, 1)?
    };
    Some((
        sql.str(0).to_string(),
        args.iter().map(|item| sql.item_bytes(item)).collect(),
    ))
}

/// `WITH d AS (DELETE FROM t [alias] WHERE cond RETURNING r) INSERT INTO x
/// (cols) SELECT exprs FROM d`: a delete and the record of what it deleted,
/// as one statement.
pub(crate) struct RecordDelete {
    pub cte: Range<usize>,
    /// The table and its alias.
    pub target: Range<usize>,
    pub condition: Range<usize>,
    pub returning: Range<usize>,
    pub table: Range<usize>,
    pub columns: Range<usize>,
    pub values: Range<usize>,
}

pub(crate) fn record_delete(text: &str) -> Option<RecordDelete> {
    let sql = Sql::lex(text)?;
    let mut n = sql.tokens.len();
    if n > 0 && sql.is_symbol(n - 1, ";") {
        n -= 1;
    }
    let shape = sql.is(0, "with")
        && sql.is_name(1)
        && sql.is(2, "as")
        && sql.is_symbol(3, "(")
        && sql.is(4, "delete")
        && sql.is(5, "from");
    if !shape {
        return None;
    }
    let cte_end = sql.closing(3)?;
    let inner = |word: &str| (6..cte_end).find(|&j| sql.tokens[j].depth == 1 && sql.is(j, word));
    let where_ = inner("where")?;
    let returning = inner("returning")?;
    if where_ == 6
        || returning <= where_ + 1
        || returning + 1 >= cte_end
        || inner("using").is_some()
    {
        return None;
    }
    let table = cte_end + 3;
    if !(sql.is(cte_end + 1, "insert") && sql.is(cte_end + 2, "into")) {
        return None;
    }
    let open = sql.dotted_name(table)? + 1;
    if !sql.is_symbol(open, "(") {
        return None;
    }
    let columns_end = sql.closing(open)?;
    let select = columns_end + 1;
    // `FROM d` ends the statement: the record reads nothing else.
    let from = n.checked_sub(2)?;
    let reads_cte = sql.is(select, "select")
        && from > select + 1
        && !(select + 1..from).any(|j| sql.tokens[j].depth == 0 && sql.is(j, "from"))
        && sql.is(from, "from")
        && sql.tokens[from].depth == 0
        && sql.is_name(from + 1)
        && same_name(sql.str(from + 1), &unquoted(sql.str(1)));
    if !reads_cte || columns_end == open + 1 {
        return None;
    }
    Some(RecordDelete {
        cte: sql.bytes(1, 1),
        target: sql.bytes(6, where_ - 1),
        condition: sql.bytes(where_ + 1, returning - 1),
        returning: sql.bytes(returning + 1, cte_end - 1),
        table: sql.bytes(table, open - 1),
        columns: sql.bytes(open + 1, columns_end - 1),
        values: sql.bytes(select + 1, from - 1),
    })
}

/// An identifier as PostgreSQL reads it: a quoted one as written, a bare
/// one folded to lower case.
fn unquoted(written: &str) -> String {
    match written.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => written.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` split at its own commas, as the operators split a list.
    fn split_list(text: &str) -> Option<Vec<Range<usize>>> {
        let sql = Sql::lex(text)?;
        if sql.tokens.is_empty() {
            return None;
        }
        let items = sql.split(0, sql.tokens.len(), 0)?;
        Some(items.iter().map(|item| sql.item_bytes(item)).collect())
    }

    fn pieces<'t>(text: &'t str, ranges: &[Range<usize>]) -> Vec<&'t str> {
        ranges.iter().map(|r| &text[r.clone()]).collect()
    }

    #[test]
    fn lists_split_only_at_their_own_commas() {
        let text = r#"'a,b', 'it''s (', "x,""y", f(g(1, 2), '),'), 3::text, E'\',', c"#;
        let items = split_list(text).unwrap();
        assert_eq!(
            pieces(text, &items),
            vec![
                "'a,b'",
                "'it''s ('",
                r#""x,""y""#,
                "f(g(1, 2), '),')",
                "3::text",
                r"E'\','",
                "c"
            ]
        );
        assert!(split_list("a, , b").is_none());
        assert!(split_list("f(a, 'b)").is_none(), "an open quote");
        assert!(split_list("f(a, b").is_none(), "an open parenthesis");
    }

    #[test]
    fn comments_are_not_code() {
        let text = "a -- x, y\n, b /* c, ( /* é, */ */, 'ü,', \"ß\"";
        assert_eq!(
            pieces(text, &split_list(text).unwrap()),
            vec!["a", "b", "'ü,'", "\"ß\""]
        );
    }

    #[test]
    fn names_compare_without_quotes() {
        assert!(same_name("\"tenancyId\"", "tenancyId"));
        assert!(!same_name("\"tenancyid\"", "tenancyId"));
        assert!(same_name("TenancyId", "tenancyid"));
        assert!(same_name("\"a\"\"b\"", "a\"b"));
    }

    #[test]
    fn inserts_with_values_or_select() {
        let text =
            r#"INSERT INTO public."T" ("a", b, c) VALUES (f(1, ','), 'x''y', (2)), (3, 4, 5)"#;
        let found = inserts(text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].table, "\"T\"");
        let names: Vec<&str> = found[0].columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec!["\"a\"", "b", "c"]);
        assert_eq!(
            pieces(text, &found[0].rows[0]),
            vec!["f(1, ',')", "'x''y'", "(2)"]
        );
        assert_eq!(pieces(text, &found[0].rows[1]), vec!["3", "4", "5"]);

        let text =
            "WITH d AS (SELECT 1) INSERT INTO t (a, b) SELECT x::text AS a, now() FROM d WHERE y";
        let found = inserts(text);
        assert_eq!(pieces(text, &found[0].rows[0]), vec!["x::text", "now()"]);
        assert!(inserts("INSERT INTO t (a) SELECT 1 UNION SELECT 2").is_empty());
        assert!(inserts("INSERT INTO t (a, b) VALUES (1)").is_empty());
    }

    #[test]
    fn calls_and_literals() {
        let (name, args) = call("jsonb_build_object('a,', f(x), 'b', \"y\")").unwrap();
        assert_eq!(name, "jsonb_build_object");
        assert_eq!(args.len(), 4);
        assert!(call("f(x) + 1").is_none());
        assert_eq!(call("f()").unwrap().1.len(), 0);
        assert_eq!(string_literal("'it''s'").as_deref(), Some("it's"));
        assert_eq!(string_literal("'a' || 'b'"), None);
        assert_eq!(quote_literal("it's"), "'it''s'");
    }

    #[test]
    fn where_conjuncts_at_their_own_level() {
        let text = "SELECT 1 FROM t WHERE a = 'x AND y' AND (b OR c AND d) AND e BETWEEN 1 AND 2 \
                    AND CASE WHEN f AND g THEN true END FOR UPDATE";
        let found = conjuncts(text);
        let texts: Vec<&str> = found.iter().map(|c| &text[c.conjunct.clone()]).collect();
        assert_eq!(
            texts,
            vec![
                "a = 'x AND y'",
                "(b OR c AND d)",
                "e BETWEEN 1 AND 2",
                "CASE WHEN f AND g THEN true END"
            ]
        );
        assert_eq!(
            apply(text, &[(found[0].removal.clone(), String::new())]),
            "SELECT 1 FROM t WHERE (b OR c AND d) AND e BETWEEN 1 AND 2 \
             AND CASE WHEN f AND g THEN true END FOR UPDATE"
        );
        assert!(conjuncts("DELETE FROM t WHERE a AND b OR c").is_empty());
        assert!(conjuncts("DELETE FROM t WHERE a").is_empty());
        let cte = "WITH d AS (DELETE FROM t WHERE a AND b RETURNING *) SELECT 1 FROM d WHERE c";
        let found = conjuncts(cte);
        assert_eq!(found.len(), 2);
        assert_eq!(
            apply(cte, &[(found[1].removal.clone(), String::new())]),
            "WITH d AS (DELETE FROM t WHERE a RETURNING *) SELECT 1 FROM d WHERE c"
        );
    }

    #[test]
    fn locking_clauses_with_their_options() {
        let text = "SELECT 1 FROM t\nfor no key update of t, u nowait FOR SHARE SKIP LOCKED";
        let found = locking_clauses(text);
        let clauses: Vec<&str> = found.iter().map(|l| &text[l.clause.clone()]).collect();
        assert_eq!(
            clauses,
            vec!["for no key update of t, u nowait", "FOR SHARE SKIP LOCKED"]
        );
        assert_eq!(
            apply(text, &[(found[0].removal.clone(), String::new())]),
            "SELECT 1 FROM t FOR SHARE SKIP LOCKED"
        );
        assert!(locking_clauses("SELECT substring('FOR UPDATE' for 2)").is_empty());
    }

    #[test]
    fn list_removal_takes_one_comma() {
        let text = "a, b,\n c";
        let items = split_list(text).unwrap();
        let cut = |i| apply(text, &[(list_removal(&items, i).unwrap(), String::new())]);
        assert_eq!(cut(0), "b,\n c");
        assert_eq!(cut(1), "a, c");
        assert_eq!(cut(2), "a, b");
        assert!(list_removal(&items[..1], 0).is_none());
    }

    #[test]
    fn a_delete_recorded_in_one_statement() {
        let text = "with Gone as (delete from t p where p.id = :post and (x, y) = (1, 2) returning p.id)\n\
                    insert into t_gone (id) select id from gone;";
        let found = record_delete(text).unwrap();
        let part = |r: &Range<usize>| &text[r.clone()];
        assert_eq!(part(&found.cte), "Gone");
        assert_eq!(part(&found.target), "t p");
        assert_eq!(part(&found.condition), "p.id = :post and (x, y) = (1, 2)");
        assert_eq!(part(&found.returning), "p.id");
        assert_eq!(part(&found.table), "t_gone");
        assert_eq!(part(&found.columns), "id");
        assert_eq!(part(&found.values), "id");
        let elsewhere =
            "WITH d AS (DELETE FROM t WHERE a RETURNING *) INSERT INTO x (a) SELECT a FROM e";
        assert!(record_delete(elsewhere).is_none());
        let update =
            "WITH d AS (UPDATE t SET a = 1 WHERE a RETURNING *) INSERT INTO x (a) SELECT a FROM d";
        assert!(record_delete(update).is_none());
    }
}
