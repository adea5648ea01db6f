//! The timeline: one run of a case (usually a counterexample) drawn as an
//! SVG swimlane picture, for a person who has never seen the harness.
//!
//! One lane per session, its statements as boxes in schedule order (x is a
//! position in the history, never a time), blocked intervals hatched, the
//! steps a violation blames framed in red with the anomaly's letter, each
//! operation's HTTP outcome at the lane's end, and below: a legend, the
//! final tombstones, the verdict and the schedule.
//!
//! Owns: the picture's layout and its SVG text. Must not know: SQL,
//! connections, files or the clock: [`svg`] is a pure function of its
//! arguments, and the same arguments always give the same bytes.
//!
//! - `layout`: events to columns, boxes and waits.
//! - `marks`: which boxes the verdict blames.
//! - `lanes`: drawing one lane per session.
//! - `footer`: the legend, the tombstones, the verdict, the schedule.
//! - `draw`: SVG escaping, shapes, text widths and wrapping.

mod draw;
mod footer;
mod lanes;
mod layout;
mod marks;

use crate::case::Case;
use crate::history::History;
use crate::oracle::Verdict;
use crate::schedule::SessionId;
use draw::{FONT_PX, Svg, chars_in, text_width, wrap};

const MARGIN: i32 = 24;
/// Between two columns.
const GAP: i32 = 22;
const LANE_HEIGHT: i32 = 88;
/// The widest an outcome gets; longer reasons are cut (the tooltip keeps them).
const OUTCOME_WIDTH_MAX: i32 = 440;
/// Narrower pictures leave the legend and footer no room.
const WIDTH_MIN: i32 = 900;

/// Where things go, in whole pixels.
struct Geometry {
    width: i32,
    /// The left edge of the first column.
    columns_x: i32,
    /// `(x, width)` of each column.
    columns: Vec<(i32, i32)>,
    outcome_x: i32,
    lanes_top: i32,
}

impl Geometry {
    fn lane_top(&self, index: usize) -> i32 {
        self.lanes_top + LANE_HEIGHT * index as i32
    }

    /// The y of a lane's life line and the centre of its boxes.
    fn mid(&self, index: usize) -> i32 {
        self.lane_top(index) + 42
    }
}

fn geometry(case: &Case, layout: &layout::Layout, lanes_top: i32) -> Geometry {
    let sessions = (0..layout.endings.len()).map(SessionId::from_index);
    let label_width = sessions
        .map(|s| {
            let (head, rest) = lanes::label(case, s);
            text_width(&format!("{head} {rest}"), FONT_PX)
        })
        .max()
        .unwrap_or(0);
    let columns_x = MARGIN + label_width + 20 + GAP;
    let mut columns: Vec<(i32, i32)> = Vec::with_capacity(layout.cells.len());
    let mut x = columns_x;
    for (column, cell) in layout.cells.iter().enumerate() {
        // A reply right after its send still needs room to say why it waited.
        for wait in layout.waits.iter().filter(|w| w.to == Some(column)) {
            let (from_x, from_width) = columns[wait.from];
            let band = x - 2 - (from_x + from_width + 2);
            x += (lanes::wait_width_min(wait) - band).max(0);
        }
        let width = lanes::cell_width(cell);
        columns.push((x, width));
        x += width + GAP;
    }
    // A statement still waiting when the history ended needs room to show it.
    let open_wait = layout.waits.iter().any(|w| w.to.is_none());
    let outcome_x = x + GAP + if open_wait { 160 } else { 0 };
    let outcome_width = layout
        .endings
        .iter()
        .filter_map(|e| e.result.as_ref())
        .map(|r| text_width(&r.to_string(), FONT_PX) + 24)
        .max()
        .unwrap_or(120)
        .clamp(120, OUTCOME_WIDTH_MAX);
    Geometry {
        width: (outcome_x + outcome_width + 12 + MARGIN).max(WIDTH_MIN),
        columns_x,
        columns,
        outcome_x,
        lanes_top,
    }
}

/// The title, and a sentence on how to read the picture; returns the y
/// below them.
fn heading(svg: &mut Svg, width: i32, title: &str, case: &Case) -> i32 {
    svg.text(MARGIN, 32, title, r#"font-size="16" font-weight="bold""#);
    let how = format!(
        "World: {}. One lane per database session, each running one operation. \
         Left to right is the order the schedule let sessions move (choice 1, 2, …), \
         not clock time.",
        case.world
    );
    let mut y = 54;
    for line in wrap(&how, chars_in(width - 2 * MARGIN, FONT_PX)) {
        svg.text(MARGIN, y, &line, r##"fill="#444444""##);
        y += 17;
    }
    y + 4
}

/// A grey band behind every other choice, numbered at the top, so boxes
/// sent during one choice line up under it.
fn stripes(svg: &mut Svg, geometry: &Geometry, cells: &[layout::Cell], bottom: i32) {
    svg.open(r#"g class="choices""#);
    let top = geometry.lanes_top - 24;
    let mut start = 0;
    while start < cells.len() {
        let choice = cells[start].choice;
        let end = (start..cells.len())
            .find(|&i| cells[i].choice != choice)
            .unwrap_or(cells.len());
        let left = geometry.columns[start].0 - GAP / 2;
        let (last_x, last_width) = geometry.columns[end - 1];
        let right = last_x + last_width + GAP / 2;
        if choice % 2 == 1 {
            svg.rect(left, top, right - left, bottom - top, r##"fill="#f0f0f0""##);
        }
        let style = r##"text-anchor="middle" fill="#555555""##;
        svg.text(
            (left + right) / 2,
            top + 16,
            &format!("choice {choice}"),
            style,
        );
        start = end;
    }
    svg.text(
        geometry.outcome_x,
        top + 16,
        "HTTP response",
        r##"fill="#555555""##,
    );
    svg.close("g");
}

/// The picture of one run of `case`: its `history` as one lane per
/// session in schedule order, with what `verdict` blames marked.
pub fn svg(title: &str, case: &Case, history: &History, verdict: &Verdict) -> String {
    let sessions = case.operations.len().max(history.results.len()).max(
        history
            .events
            .iter()
            .map(|e| e.session.0 as usize)
            .max()
            .unwrap_or(0),
    );
    let layout = layout::layout(history, sessions);
    let marks = marks::blamed(verdict);
    // The heading's height depends on the width, which depends only on the
    // layout: lay out once with a provisional top, then place the lanes.
    let width = geometry(case, &layout, 0).width;
    let mut svg = Svg::default();
    let lanes_top = heading(&mut svg, width, title, case) + 30;
    let geometry = geometry(case, &layout, lanes_top);
    let lanes_bottom = geometry.lane_top(sessions);
    stripes(&mut svg, &geometry, &layout.cells, lanes_bottom);
    lanes::draw(&mut svg, &geometry, case, &layout, &marks);
    let y = footer::legend(&mut svg, width, lanes_bottom + 28);
    let y = footer::footer(&mut svg, width, y + 12, history, verdict);
    svg.finish(width, y + 8, title)
}
