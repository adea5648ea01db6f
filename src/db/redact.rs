//! Hiding credentials in anything that may print or store a connection
//! string: URL userinfo (`postgres://bob:pw@host`), URL query parameters
//! (`?password=pw`, `&sslpassword=pw`, percent-encoded keys too) and libpq
//! key=value strings (`password=pw host=h`, `password='a b'`).
//!
//! Errs on the side of hiding: a password may hold `/ ? @ # %` unencoded, so
//! userinfo runs to the last `@` before whitespace, not to the first `/`.

const HIDDEN: &str = "***";

/// `text` with every password-like value replaced by `***`.
pub fn redact(text: &str) -> String {
    // Parameters first: a query value may hold an `@` that would otherwise
    // pass for the end of userinfo.
    redact_userinfo(&redact_parameters(text))
}

/// `scheme://user:secret@host` → `scheme://user:***@host`.
fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(scheme) = rest.find("://") {
        let (head, tail) = rest.split_at(scheme + 3);
        out.push_str(head);
        let word_end = tail.find(char::is_whitespace).unwrap_or(tail.len());
        match tail[..word_end].rfind('@') {
            Some(at) => {
                let userinfo = &tail[..at];
                match userinfo.split_once(':') {
                    Some((user, _)) => out.push_str(&format!("{user}:{HIDDEN}")),
                    // No colon: either a user name alone, or something that
                    // only looks like userinfo (`host/db?x=a@b`); hide all
                    // but a plain user name.
                    None if userinfo.contains(['/', '?', '#', '&', '=']) => out.push_str(HIDDEN),
                    None => out.push_str(userinfo),
                }
                rest = &tail[at..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// Whether a key names a secret, after percent-decoding it (libpq and sqlx
/// decode URL query keys, so `%70assword` is a password too).
fn is_secret_key(key: &str) -> bool {
    percent_decode(key).to_ascii_lowercase().contains("pass")
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '%' | '.')
}

/// `key=value` where the key names a secret: the value runs to whitespace
/// (and, in a URL query, to the next `&`); a quoted libpq value runs to its
/// closing quote.
fn redact_parameters(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(equals) = rest.find('=') {
        let key_start = rest[..equals]
            .rfind(|c: char| !is_key_char(c))
            .map(|i| i + rest[i..].chars().next().map_or(1, char::len_utf8))
            .unwrap_or(0);
        let key = &rest[key_start..equals];
        out.push_str(&rest[..=equals]);
        let value = &rest[equals + 1..];
        if key.is_empty() || !is_secret_key(key) {
            rest = value;
            continue;
        }
        let in_query = rest[..key_start].ends_with(['?', '&']);
        out.push_str(HIDDEN);
        rest = &value[value_len(value, in_query)..];
    }
    out.push_str(rest);
    out
}

fn value_len(value: &str, in_query: bool) -> usize {
    if let Some(quoted) = value.strip_prefix('\'') {
        // libpq: a backslash escapes the next character inside quotes.
        let mut escaped = false;
        for (i, c) in quoted.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '\'' => return i + 2,
                _ => {}
            }
        }
        return value.len();
    }
    value
        .find(|c: char| c.is_whitespace() || (in_query && c == '&'))
        .unwrap_or(value.len())
}

#[cfg(test)]
mod tests {
    use super::redact;

    /// Every character the issue names, raw and percent-encoded.
    const SECRETS: [&str; 6] = [
        "se/cret",
        "se?cret",
        "se@cret",
        "se#cret",
        "se%cret",
        "s%2Fe%40c",
    ];

    fn assert_hidden(text: &str) {
        let redacted = redact(text);
        for secret in SECRETS {
            assert!(!redacted.contains(secret), "{secret} in {redacted}");
        }
        assert!(!redacted.contains("cret"), "{redacted}");
    }

    #[test]
    fn userinfo_is_hidden_whatever_the_password_holds() {
        for secret in SECRETS {
            let text = format!("--pg-url postgres://bob:{secret}@db:5432/x?sslmode=disable end");
            assert_hidden(&text);
            assert_eq!(
                redact(&text),
                "--pg-url postgres://bob:***@db:5432/x?sslmode=disable end"
            );
        }
        assert_eq!(
            redact("postgres://bob:s3cret@db:5432/x and postgres://db/y and postgres://al@h/z"),
            "postgres://bob:***@db:5432/x and postgres://db/y and postgres://al@h/z"
        );
    }

    #[test]
    fn query_parameters_are_hidden_keys_in_any_encoding() {
        for secret in SECRETS {
            for key in [
                "password",
                "PASSWORD",
                "sslpassword",
                "passfile",
                "%70assword",
            ] {
                let text = format!("postgres://db/x?host=/tmp&{key}={secret}&port=5432");
                assert_hidden(&text);
                assert_eq!(
                    redact(&text),
                    format!("postgres://db/x?host=/tmp&{key}=***&port=5432")
                );
            }
            assert_hidden(&format!("postgres://db/x?password={secret}"));
            assert_hidden(&format!("postgres://h/x?a=b@c&password={secret}@x"));
        }
    }

    #[test]
    fn key_value_conninfo_is_hidden_quoted_or_not() {
        assert_eq!(
            redact("host=y password=se/c&ret dbname=z"),
            "host=y password=*** dbname=z"
        );
        assert_eq!(
            redact(r"password='se cr\'et' host=y"),
            "password=*** host=y"
        );
        assert_eq!(redact("--password=se?cret -x"), "--password=*** -x");
        assert_eq!(
            redact("user=bob sslmode=require"),
            "user=bob sslmode=require"
        );
    }
}
