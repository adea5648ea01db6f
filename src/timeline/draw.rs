//! SVG text: escaping, a few shapes, text widths and line wrapping. Every
//! coordinate is a whole pixel and every string goes through [`escape`], so
//! the same picture always prints the same bytes.

use std::fmt::Write;

/// The font size of ordinary text, in pixels.
pub(super) const FONT_PX: i32 = 12;

/// The width of `text` in a monospace font of `px` pixels (a glyph is 0.6
/// em wide in DejaVu Sans Mono, Menlo and Consolas alike).
pub(super) fn text_width(text: &str, px: i32) -> i32 {
    let chars = text.chars().count() as i32;
    (chars * px * 3 + 4) / 5
}

/// How many characters of a `px` font fit in `width` pixels.
pub(super) fn chars_in(width: i32, px: i32) -> usize {
    (width * 5 / (px * 3)).max(1) as usize
}

/// `text` cut to `chars` characters, ending in `…` when cut.
pub(super) fn truncate(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_string();
    }
    let kept: String = text.chars().take(chars.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// Greedy word wrap to lines of at most `chars` characters; a word longer
/// than a line is split.
pub(super) fn wrap(text: &str, chars: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > chars {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.push(word.drain(..chars).collect());
        }
        let word: String = word.into_iter().collect();
        let fits = line.chars().count() + 1 + word.chars().count() <= chars;
        if line.is_empty() {
            line = word;
        } else if fits {
            line.push(' ');
            line.push_str(&word);
        } else {
            lines.push(std::mem::replace(&mut line, word));
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Text as XML character data or an attribute value.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The body of an SVG document, written element by element. Attribute
/// strings passed in are trusted constants; all text is escaped here.
#[derive(Default)]
pub(super) struct Svg {
    body: String,
}

impl Svg {
    pub fn open(&mut self, tag_and_attributes: &str) {
        let _ = writeln!(self.body, "<{tag_and_attributes}>");
    }

    pub fn close(&mut self, tag: &str) {
        let _ = writeln!(self.body, "</{tag}>");
    }

    /// A tooltip for the enclosing element.
    pub fn title(&mut self, text: &str) {
        let _ = writeln!(self.body, "<title>{}</title>", escape(text));
    }

    pub fn rect(&mut self, x: i32, y: i32, width: i32, height: i32, attributes: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{x}" y="{y}" width="{}" height="{}" {attributes}/>"#,
            width.max(0),
            height.max(0)
        );
    }

    pub fn line(&mut self, x1: i32, y1: i32, x2: i32, y2: i32, attributes: &str) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" {attributes}/>"#
        );
    }

    pub fn text(&mut self, x: i32, y: i32, text: &str, attributes: &str) {
        let _ = writeln!(
            self.body,
            r#"<text x="{x}" y="{y}" {attributes}>{}</text>"#,
            escape(text)
        );
    }

    /// One `<text>` of runs, each `(text, attributes)`, as `<tspan>`s.
    pub fn runs(&mut self, x: i32, y: i32, runs: &[(&str, &str)], attributes: &str) {
        let mut spans = String::new();
        for (text, span_attributes) in runs {
            let _ = write!(spans, "<tspan {span_attributes}>{}</tspan>", escape(text));
        }
        let _ = writeln!(
            self.body,
            r#"<text x="{x}" y="{y}" {attributes}>{spans}</text>"#
        );
    }

    /// The finished document, `width` × `height` pixels.
    pub fn finish(self, width: i32, height: i32, title: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="{FONT_PX}">"#
        );
        let _ = writeln!(out, "<title>{}</title>", escape(title));
        out.push_str(DEFS);
        let _ = writeln!(
            out,
            r##"<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>"##
        );
        out.push_str(&self.body);
        out.push_str("</svg>\n");
        out
    }
}

/// The hatching of blocked intervals and the head of release arrows.
const DEFS: &str = r##"<defs>
<pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
<rect x="0" y="0" width="8" height="8" fill="#fff3cd"/>
<line x1="0" y1="0" x2="0" y2="8" stroke="#e0a800" stroke-width="3"/>
</pattern>
<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">
<path d="M0,0 L10,5 L0,10 z" fill="#b38600"/>
</marker>
</defs>
"##;
