//! Quoting what a user wrote inside an error message, so that every error
//! stays one line whatever the value holds (a line break in a TOML string,
//! a control character in a flag).

/// `'value'`, with line breaks and other control characters escaped.
pub fn quoted(value: &str) -> String {
    format!("'{}'", value.escape_debug())
}

/// A whole message on one line (for messages built by other crates).
pub fn one_line(message: &str) -> String {
    message.replace('\r', "\\r").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_and_messages_stay_on_one_line() {
        assert_eq!(super::quoted("a\nb"), "'a\\nb'");
        assert_eq!(super::one_line("x\ny"), "x\\ny");
    }
}
