//! Below the lanes: a legend of the picture's marks, then what the run left
//! behind (the final tombstones), what the oracles said, and the schedule.

use super::draw::{FONT_PX, Svg, chars_in, text_width, wrap};
use super::lanes::RED;
use super::marks::letter;
use crate::history::History;
use crate::oracle::Verdict;

const LINE_HEIGHT: i32 = 18;

/// The legend's entries: a sample and what it means.
#[derive(Clone, Copy)]
enum Sample {
    Statement,
    Blocked,
    Release,
    Blamed,
    Outcomes,
}

const LEGEND: [(Sample, &str); 5] = [
    (
        Sample::Statement,
        "a statement a session sent, and the database's reply (#N: the choice that sent it)",
    ),
    (
        Sample::Blocked,
        "blocked: the session waits for a lock another session holds",
    ),
    (
        Sample::Release,
        "the statement whose end released that lock",
    ),
    (
        Sample::Blamed,
        "a step a violation blames (letter: the anomaly, listed below)",
    ),
    (Sample::Outcomes, "the HTTP response the operation returned"),
];

fn draw_sample(svg: &mut Svg, sample: Sample, x: i32, mid: i32) -> i32 {
    let grey = r##"rx="4" fill="#ffffff" stroke="#555555" stroke-width="1.5""##;
    match sample {
        Sample::Statement => svg.rect(x, mid - 9, 36, 18, grey),
        Sample::Blocked => svg.rect(
            x,
            mid - 9,
            36,
            18,
            r##"fill="url(#hatch)" stroke="#e0a800" stroke-width="1""##,
        ),
        Sample::Release => {
            let arrow = r##"stroke="#b38600" stroke-width="1.5" stroke-dasharray="5 3" marker-end="url(#arrow)""##;
            svg.line(x, mid - 8, x + 34, mid + 8, arrow);
        }
        Sample::Blamed => {
            svg.rect(x, mid - 9, 36, 18, grey);
            let frame = format!(r#"rx="5" fill="none" stroke="{RED}" stroke-width="3""#);
            svg.rect(x - 3, mid - 12, 42, 24, &frame);
            svg.rect(x + 24, mid - 19, 16, 14, &format!(r#"rx="7" fill="{RED}""#));
            let white =
                r##"font-size="10" font-weight="bold" fill="#ffffff" text-anchor="middle""##;
            svg.text(x + 32, mid - 8, "B", white);
        }
        Sample::Outcomes => {
            let pills = [
                ("200", "#e2f4e6", "#1e6b32"),
                ("4xx", "#fff1d0", "#7a5200"),
                ("5xx", "#fde0e3", RED),
            ];
            for (i, (text, fill, colour)) in pills.iter().enumerate() {
                let left = x + 38 * i as i32;
                let frame = format!(r#"rx="9" fill="{fill}" stroke="{colour}" stroke-width="1.5""#);
                svg.rect(left, mid - 9, 34, 18, &frame);
                let style = format!(r#"font-size="10" fill="{colour}" text-anchor="middle""#);
                svg.text(left + 17, mid + 4, text, &style);
            }
            return 110;
        }
    }
    36
}

/// The legend, flowing left to right and wrapping at `width`; returns the
/// y below it.
pub(super) fn legend(svg: &mut Svg, width: i32, top: i32) -> i32 {
    let left = super::MARGIN;
    svg.open(r#"g class="legend""#);
    svg.text(left, top + 4, "Legend", r#"font-weight="bold""#);
    let (mut x, mut mid) = (left, top + 28);
    for (sample, caption) in LEGEND {
        let sample_width = if matches!(sample, Sample::Outcomes) {
            110
        } else {
            40
        };
        let item = sample_width + 8 + text_width(caption, FONT_PX);
        if x > left && x + item > width - super::MARGIN {
            (x, mid) = (left, mid + 30);
        }
        draw_sample(svg, sample, x, mid);
        let caption_style = r##"fill="#333333""##;
        svg.text(x + sample_width + 8, mid + 4, caption, caption_style);
        x += item + 28;
    }
    svg.close("g");
    mid + 24
}

/// A heading and its wrapped lines; returns the y below them.
fn section(svg: &mut Svg, width: i32, top: i32, heading: &str, lines: &[(String, &str)]) -> i32 {
    let left = super::MARGIN;
    let chars = chars_in(width - 2 * left - 16, FONT_PX);
    svg.text(left, top, heading, r#"font-weight="bold""#);
    let mut y = top + LINE_HEIGHT;
    for (line, style) in lines {
        for (i, part) in wrap(line, chars).iter().enumerate() {
            let indent = if i == 0 { 0 } else { 16 };
            svg.text(left + indent, y, part, style);
            y += LINE_HEIGHT;
        }
    }
    y + 8
}

/// The final tombstones, the verdict and the schedule; returns the y
/// below them.
pub(super) fn footer(
    svg: &mut Svg,
    width: i32,
    top: i32,
    history: &History,
    verdict: &Verdict,
) -> i32 {
    const PLAIN: &str = r##"fill="#222222""##;
    svg.open(r#"g class="footer""#);
    let snapshot = &history.snapshot;
    let tombstones: Vec<(String, &str)> =
        if snapshot.tombstones.is_empty() && snapshot.orphans.is_empty() {
            vec![("none".to_string(), PLAIN)]
        } else {
            let by = |writer: Option<crate::operation::OperationId>| {
                writer.map_or("a session outside the case".into(), |w| w.to_string())
            };
            let named = snapshot
                .tombstones
                .iter()
                .map(|t| format!("{} (written by {})", t.row, by(t.writer)));
            let orphans = snapshot
                .orphans
                .iter()
                .map(|o| format!("an orphan in {} (written by {})", o.table, by(o.writer)));
            let texts: Vec<String> = named.chain(orphans).collect();
            vec![(texts.join(" · "), PLAIN)]
        };
    let heading = "Final tombstones (after the run: a deleted row needs exactly one)";
    let mut y = section(svg, width, top, heading, &tombstones);
    let red = format!(r#"fill="{RED}""#);
    let violations: Vec<(String, &str)> = if verdict.is_clean() {
        vec![("clean: every invariant holds".to_string(), PLAIN)]
    } else {
        let lines = verdict.violations.iter();
        lines
            .map(|v| (format!("[{}] {v}", letter(v)), red.as_str()))
            .collect()
    };
    y = section(svg, width, y, "Verdict", &violations);
    let schedule = vec![(
        format!(
            "{}  (choice N: the session that sent its next statement)",
            history.schedule
        ),
        PLAIN,
    )];
    y = section(svg, width, y, "Schedule", &schedule);
    svg.close("g");
    y
}
