//! One lane per session: its label, its statements as boxes, the intervals
//! it spent blocked, the marks of the violations that blame its steps, and
//! the HTTP outcome its operation returned.

use super::Geometry;
use super::draw::{FONT_PX, Svg, chars_in, text_width, truncate};
use super::layout::{Cell, CellKind, Ending, Layout, Wait};
use super::marks::Mark;
use crate::case::Case;
use crate::history::OperationResult;
use crate::schedule::SessionId;
use std::collections::BTreeMap;

/// The widest a statement's box gets; longer replies are cut (the tooltip
/// keeps them whole).
const BOX_WIDTH_MAX: i32 = 240;
const BOX_PADDING: i32 = 16;
const SMALL_PX: i32 = 10;
pub(super) const RED: &str = "#c4001a";

/// Lane colours: (band, accent), cycled for more than six sessions.
const PALETTE: [(&str, &str); 6] = [
    ("#e7f0fb", "#1f5fa8"),
    ("#fdeedd", "#b35900"),
    ("#e6f4ea", "#237a3b"),
    ("#f1eaf8", "#6f42a6"),
    ("#e5f5f5", "#1d7373"),
    ("#f7e8ef", "#a3355f"),
];

pub(super) fn colours(session: SessionId) -> (&'static str, &'static str) {
    PALETTE[session.index() % PALETTE.len()]
}

/// `s1 · op1` and `sign-out u1 from t1`.
pub(super) fn label(case: &Case, session: SessionId) -> (String, String) {
    match case.operations.get(session.index()) {
        Some(op) => (format!("{session} · {}", op.id), op.action.to_string()),
        None => (session.to_string(), "(no operation)".to_string()),
    }
}

/// The reply as the box shows it, cut to the widest box.
fn shown_reply(cell: &Cell) -> String {
    match (&cell.reply, cell.kind) {
        (_, CellKind::Waiting) => "(waiting)".to_string(),
        (Some(reply), _) => truncate(reply, chars_in(BOX_WIDTH_MAX - BOX_PADDING, FONT_PX)),
        (None, _) => String::new(),
    }
}

/// The width of a cell's column.
pub(super) fn cell_width(cell: &Cell) -> i32 {
    if cell.small {
        return (text_width(&cell.label, SMALL_PX) + 12).max(40);
    }
    let text = text_width(&cell.label, FONT_PX).max(text_width(&shown_reply(cell), FONT_PX));
    (text + BOX_PADDING).clamp(84, BOX_WIDTH_MAX)
}

/// Draws every lane, each as `<g class="lane" data-session="s1">`.
pub(super) fn draw(
    svg: &mut Svg,
    geometry: &Geometry,
    case: &Case,
    layout: &Layout,
    marks: &BTreeMap<usize, Mark>,
) {
    for (index, ending) in layout.endings.iter().enumerate() {
        let session = SessionId::from_index(index);
        let (band, accent) = colours(session);
        let top = geometry.lane_top(index);
        let mid = geometry.mid(index);
        svg.open(&format!(r#"g class="lane" data-session="{session}""#));
        svg.rect(
            super::MARGIN,
            top + 4,
            geometry.width - 2 * super::MARGIN,
            super::LANE_HEIGHT - 8,
            &format!(r#"rx="8" fill="{band}" fill-opacity="0.75""#),
        );
        let (head, rest) = label(case, session);
        let bold = format!(r#"font-weight="bold" fill="{accent}""#);
        let rest = format!(" {rest}");
        let runs = [(head.as_str(), bold.as_str()), (rest.as_str(), "")];
        let preserve = r##"fill="#222222" xml:space="preserve""##;
        svg.runs(super::MARGIN + 10, mid + 4, &runs, preserve);
        draw_line(svg, geometry, index, ending, accent);
        for wait in layout.waits.iter().filter(|w| w.session == session) {
            draw_wait(svg, geometry, wait);
        }
        for (column, cell) in layout.cells.iter().enumerate() {
            if cell.session == session {
                let mark = cell.completed_event.and_then(|e| marks.get(&e));
                draw_cell(svg, geometry, (column, cell), accent, mark);
            }
        }
        draw_outcome(svg, geometry, index, ending);
        svg.close("g");
    }
    svg.open(r#"g class="releases""#);
    for wait in &layout.waits {
        if let (Some(to), Some(from)) = (wait.to, layout.releaser(wait)) {
            draw_release(
                svg,
                geometry,
                (from, &layout.cells[from]),
                (to, &layout.cells[to]),
            );
        }
    }
    svg.close("g");
}

/// An arrow from the blocker's statement that let a waiting one go on
/// (usually its COMMIT or ROLLBACK) to the waiting statement's reply.
fn draw_release(
    svg: &mut Svg,
    geometry: &Geometry,
    (from, blocker): (usize, &Cell),
    (to, waiter): (usize, &Cell),
) {
    let (from_x, from_width) = geometry.columns[from];
    let (to_x, _) = geometry.columns[to];
    let (from_mid, to_mid) = (
        geometry.mid(blocker.session.index()),
        geometry.mid(waiter.session.index()),
    );
    let half = |cell: &Cell| if cell.small { 11 } else { 18 };
    let down = from_mid < to_mid;
    let start_y = if down {
        from_mid + half(blocker)
    } else {
        from_mid - half(blocker)
    };
    let start_x = from_x + from_width / 2;
    let end_y = to_mid + if down { -6 } else { 6 };
    let arrow = r##"stroke="#b38600" stroke-width="1.5" stroke-dasharray="5 3" fill="none" marker-end="url(#arrow)""##;
    svg.line(start_x, start_y, to_x - 3, end_y, arrow);
}

/// The session's life line: solid while its operation runs, dotted from
/// its last statement to its outcome.
fn draw_line(svg: &mut Svg, geometry: &Geometry, index: usize, ending: &Ending, accent: &str) {
    let mid = geometry.mid(index);
    let start = geometry.columns_x - 10;
    let end = match (ending.finished, ending.column) {
        (true, Some(column)) => geometry.columns[column].0 + geometry.columns[column].1,
        (true, None) => start,
        (false, _) => geometry.outcome_x - 8,
    };
    svg.line(
        start,
        mid,
        end,
        mid,
        &format!(r#"stroke="{accent}" stroke-width="2""#),
    );
    if ending.finished {
        let dotted = r##"stroke="#999999" stroke-width="1.5" stroke-dasharray="2 4""##;
        svg.line(end, mid, geometry.outcome_x - 4, mid, dotted);
    }
}

/// A statement's box, with the choice that sent it above, and the mark of
/// the violations that blame it, all in one `<g class="step">`.
fn draw_cell(
    svg: &mut Svg,
    geometry: &Geometry,
    (column, cell): (usize, &Cell),
    accent: &str,
    mark: Option<&Mark>,
) {
    let (x, width) = geometry.columns[column];
    let mid = geometry.mid(cell.session.index());
    let height = if cell.small { 22 } else { 36 };
    let y = mid - height / 2;
    let stroke = if cell.failed { RED } else { accent };
    svg.open(r#"g class="step""#);
    let reply = cell.reply.as_deref().unwrap_or("no reply yet");
    svg.title(&format!(
        "choice {}: {} sent {} → {reply}",
        cell.choice, cell.session, cell.statement
    ));
    let number = r##"font-size="10" fill="#666666""##;
    svg.text(x + 2, y - 8, &format!("#{}", cell.choice), number);
    let dash = if cell.kind == CellKind::Waiting {
        r#" stroke-dasharray="4 3""#
    } else {
        ""
    };
    let frame = format!(r##"rx="4" fill="#ffffff" stroke="{stroke}" stroke-width="1.5"{dash}"##);
    svg.rect(x, y, width, height, &frame);
    let centre = x + width / 2;
    if cell.small {
        let small = format!(r##"font-size="{SMALL_PX}" text-anchor="middle" fill="#444444""##);
        svg.text(centre, mid + 4, &cell.label, &small);
    } else {
        let name = r##"text-anchor="middle" font-weight="bold" fill="#222222""##;
        svg.text(centre, y + 15, &cell.label, name);
        let reply_style = match (cell.failed, cell.kind) {
            (true, _) => format!(r#"text-anchor="middle" fill="{RED}""#),
            (false, CellKind::Waiting) => {
                r##"text-anchor="middle" fill="#777777" font-style="italic""##.to_string()
            }
            (false, _) => r##"text-anchor="middle" fill="#333333""##.to_string(),
        };
        svg.text(centre, y + 30, &shown_reply(cell), &reply_style);
    }
    if let Some(mark) = mark {
        draw_mark(svg, geometry, (column, cell), mark);
    }
    svg.close("g");
}

/// A hatched interval from the box that sent a statement to the box of its
/// reply: the session could not move, waiting for a lock.
/// What a wait's interval says, on as many lines as it needs when narrow.
fn wait_lines(wait: &Wait) -> Vec<String> {
    let by: Vec<String> = wait.by.iter().map(ToString::to_string).collect();
    let mut lines = if by.is_empty() {
        vec!["waiting".to_string()]
    } else {
        vec!["blocked by".to_string(), by.join(", ")]
    };
    if let Some(cycle) = &wait.deadlock {
        let cycle: Vec<String> = cycle.iter().map(ToString::to_string).collect();
        lines.push(format!("deadlock {}:", cycle.join("↔")));
        lines.push("cancelled".to_string());
    }
    lines
}

/// The narrowest a wait's interval may be and still say what it is
/// (two lines at most, so it stays inside its lane).
pub(super) fn wait_width_min(wait: &Wait) -> i32 {
    let lines = wait_lines(wait);
    let pairs = lines
        .chunks(2)
        .map(|pair| text_width(&pair.join(" "), FONT_PX));
    pairs.max().unwrap_or(0) + 16
}

fn draw_wait(svg: &mut Svg, geometry: &Geometry, wait: &Wait) {
    let (from_x, from_width) = geometry.columns[wait.from];
    let start = from_x + from_width + 2;
    let end = match wait.to {
        Some(to) => geometry.columns[to].0 - 2,
        None => geometry.outcome_x - 8,
    };
    let mid = geometry.mid(wait.session.index());
    let mut lines = wait_lines(wait);
    svg.open(r#"g class="wait""#);
    svg.title(&format!("{} {}", wait.session, lines.join(" ")));
    let height = 26.max(14 * lines.len() as i32 + 4);
    let hatch = r##"class="blocked" fill="url(#hatch)" stroke="#e0a800" stroke-width="1""##;
    svg.rect(start, mid - height / 2, end - start, height, hatch);
    for pair in [2, 1] {
        let joined: Vec<String> = lines.chunks(pair).map(|c| c.join(" ")).collect();
        if joined
            .iter()
            .all(|l| text_width(l, FONT_PX) + 12 <= end - start)
        {
            lines = joined;
            break;
        }
    }
    let halo = r##"text-anchor="middle" fill="#6b4e00" font-weight="bold" stroke="#ffffff" stroke-width="3" paint-order="stroke""##;
    let first = mid + 4 - 7 * (lines.len() as i32 - 1);
    for (i, line) in lines.iter().enumerate() {
        svg.text((start + end) / 2, first + 14 * i as i32, line, halo);
    }
    svg.close("g");
}

/// A red frame around a blamed box, a tag with the anomaly letters, and
/// why, in a few words under it.
fn draw_mark(svg: &mut Svg, geometry: &Geometry, (column, cell): (usize, &Cell), mark: &Mark) {
    let letters = mark.letters.as_str();
    let (x, width) = geometry.columns[column];
    let mid = geometry.mid(cell.session.index());
    let half = if cell.small { 11 } else { 18 };
    let frame = format!(r#"class="violating" rx="6" fill="none" stroke="{RED}" stroke-width="3""#);
    svg.rect(x - 4, mid - half - 4, width + 8, 2 * half + 8, &frame);
    let tag_width = text_width(letters, 11) + 10;
    let tag = format!(r#"class="marker" rx="8" fill="{RED}""#);
    svg.rect(
        x + width - tag_width + 8,
        mid - half - 14,
        tag_width,
        16,
        &tag,
    );
    let text = r##"font-size="11" font-weight="bold" fill="#ffffff" text-anchor="middle""##;
    svg.text(x + width - tag_width / 2 + 8, mid - half - 2, letters, text);
    let caption = format!(r#"font-size="10" fill="{RED}" text-anchor="middle""#);
    svg.text(
        x + width / 2,
        mid + half + 15,
        &mark.captions.join("; "),
        &caption,
    );
}

/// `(fill, text colour, bold)` of an outcome: 2xx green, 4xx amber, 5xx
/// red, indeterminate grey.
fn outcome_colours(result: Option<&OperationResult>) -> (&'static str, &'static str, bool) {
    match result {
        Some(OperationResult::Finished(o)) if o.status >= 500 => ("#fde0e3", RED, true),
        Some(OperationResult::Finished(o)) if o.status >= 400 => ("#fff1d0", "#7a5200", false),
        Some(OperationResult::Finished(_)) => ("#e2f4e6", "#1e6b32", false),
        _ => ("#eeeeee", "#555555", false),
    }
}

fn draw_outcome(svg: &mut Svg, geometry: &Geometry, index: usize, ending: &Ending) {
    let mid = geometry.mid(index);
    let result = ending.result.as_ref();
    let text = result.map_or_else(|| "did not finish".to_string(), ToString::to_string);
    let shown = truncate(&text, chars_in(super::OUTCOME_WIDTH_MAX - 24, FONT_PX));
    let (fill, colour, bold) = outcome_colours(result);
    svg.open(r#"g class="outcome""#);
    svg.title(&format!("{} returned {text}", SessionId::from_index(index)));
    let width = text_width(&shown, FONT_PX) + 24;
    let frame = format!(r#"rx="13" fill="{fill}" stroke="{colour}" stroke-width="1.5""#);
    svg.rect(geometry.outcome_x, mid - 13, width, 26, &frame);
    let weight = if bold { r#" font-weight="bold""# } else { "" };
    let style = format!(r#"fill="{colour}"{weight}"#);
    svg.text(geometry.outcome_x + 12, mid + 4, &shown, &style);
    svg.close("g");
}
