//! The flow chart of the journey view: a Sankey-like diagram of the first channels of the
//! period's paths, drawn with plotters into SVG.
//!
//! Columns are positions in the collapsed path (first channel, second, ...); a node is a
//! channel at a position, as tall as the journeys through it (the larger of those arriving and
//! those leaving); a band joins two nodes of consecutive columns and is as thick as the
//! journeys going that way. Every height uses one scale (pixels per journey), so widths compare
//! across the whole chart. Journeys whose path has a single channel have no band. The page
//! shows the same links as a table.

use std::collections::BTreeMap;

use plotters::prelude::*;
use plotters::style::text_anchor;

use crate::journey::FlowLink;
use crate::server::charts::ChartError;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 420;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 12.0;
const SIDE: f64 = 12.0;
const NODE_W: f64 = 14.0;
/// Space between the nodes of one column.
const GAP: f64 = 16.0;
const TEXT: RGBColor = RGBColor(60, 60, 60);
/// Okabe–Ito, without black and yellow (hard to read on white).
const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
];

/// A node of the laid-out chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub column: usize,
    pub channel: String,
    pub journeys: u64,
    pub y: f64,
    pub height: f64,
}

/// A band: from the node at `column` to the one at `column + 1`.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    pub column: usize,
    pub from: String,
    pub to: String,
    pub journeys: u64,
    /// Top of the band at its source and at its target.
    pub y_from: f64,
    pub y_to: f64,
    pub thickness: f64,
}

/// Where the nodes and bands go in a drawing area `height` pixels tall (`top` to
/// `top + height`).
pub fn layout(links: &[FlowLink], top: f64, height: f64) -> (Vec<Node>, Vec<Band>) {
    let columns = links
        .iter()
        .map(|l| l.position as usize + 2)
        .max()
        .unwrap_or(0);
    // (column, channel) -> (in, out)
    let mut through: BTreeMap<(usize, &str), (u64, u64)> = BTreeMap::new();
    for l in links {
        let p = l.position as usize;
        through.entry((p, l.from.as_str())).or_default().1 += l.journeys;
        through.entry((p + 1, l.to.as_str())).or_default().0 += l.journeys;
    }
    let value = |(i, o): (u64, u64)| i.max(o);
    let mut per_column: Vec<Vec<(&str, u64)>> = vec![Vec::new(); columns];
    for ((c, ch), io) in &through {
        per_column[*c].push((ch, value(*io)));
    }
    // The busiest channel first in every column.
    for col in &mut per_column {
        col.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    }
    let scale = per_column
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| {
            let total: u64 = c.iter().map(|(_, v)| v).sum();
            let room = height - GAP * (c.len() as f64 - 1.0);
            room.max(1.0) / total.max(1) as f64
        })
        .fold(f64::INFINITY, f64::min);
    let scale = if scale.is_finite() { scale } else { 0.0 };
    let mut nodes = Vec::new();
    for (c, col) in per_column.iter().enumerate() {
        let mut y = top;
        for (ch, v) in col {
            let h = *v as f64 * scale;
            nodes.push(Node {
                column: c,
                channel: ch.to_string(),
                journeys: *v,
                y,
                height: h,
            });
            y += h + GAP;
        }
    }
    let node_y = |c: usize, ch: &str| {
        nodes
            .iter()
            .find(|n| n.column == c && n.channel == ch)
            .map_or(top, |n| n.y)
    };
    let rank = |c: usize, ch: &str| {
        per_column
            .get(c)
            .and_then(|col| col.iter().position(|(x, _)| *x == ch))
            .unwrap_or(usize::MAX)
    };
    // Leaving bands stack in the order of their targets, arriving ones in that of their
    // sources, so bands do not cross at a node.
    let mut order: Vec<&FlowLink> = links.iter().filter(|l| l.journeys > 0).collect();
    order.sort_by_key(|l| {
        let p = l.position as usize;
        (p, rank(p, &l.from), rank(p + 1, &l.to))
    });
    let mut out_used: BTreeMap<(usize, &str), f64> = BTreeMap::new();
    let mut bands: Vec<Band> = order
        .iter()
        .map(|l| {
            let p = l.position as usize;
            let t = l.journeys as f64 * scale;
            let used = out_used.entry((p, l.from.as_str())).or_insert(0.0);
            let y_from = node_y(p, &l.from) + *used;
            *used += t;
            Band {
                column: p,
                from: l.from.clone(),
                to: l.to.clone(),
                journeys: l.journeys,
                y_from,
                y_to: 0.0,
                thickness: t,
            }
        })
        .collect();
    let mut by_target: Vec<usize> = (0..bands.len()).collect();
    by_target.sort_by_key(|&i| {
        let b = &bands[i];
        (b.column, rank(b.column + 1, &b.to), rank(b.column, &b.from))
    });
    let mut in_used: BTreeMap<(usize, String), f64> = BTreeMap::new();
    for i in by_target {
        let (c, to, t) = (bands[i].column + 1, bands[i].to.clone(), bands[i].thickness);
        let used = in_used.entry((c, to.clone())).or_insert(0.0);
        bands[i].y_to = node_y(c, &to) + *used;
        *used += t;
    }
    (nodes, bands)
}

/// The flow chart of `links` as SVG; `heading(column)` names a column ("Step 1"), `count`
/// writes a number of journeys. No links draws an empty chart with the headings.
pub fn render(
    links: &[FlowLink],
    title: &str,
    heading: &dyn Fn(usize) -> String,
    count: &dyn Fn(u64) -> String,
) -> Result<String, ChartError> {
    let (nodes, bands) = layout(links, TOP, HEIGHT as f64 - TOP - BOTTOM);
    let columns = nodes.iter().map(|n| n.column + 1).max().unwrap_or(0);
    let span = WIDTH as f64 - 2.0 * SIDE - NODE_W;
    let x_of = |c: usize| {
        if columns <= 1 {
            SIDE
        } else {
            SIDE + span * c as f64 / (columns - 1) as f64
        }
    };
    let mut channels: Vec<&str> = nodes.iter().map(|n| n.channel.as_str()).collect();
    channels.sort_unstable();
    channels.dedup();
    let colour = |ch: &str| {
        let i = channels.iter().position(|c| *c == ch).unwrap_or(0);
        PALETTE[i % PALETTE.len()]
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(ChartError::draw)?;
        let font = ("sans-serif", 20).into_font().color(&TEXT);
        for b in &bands {
            let x0 = x_of(b.column) + NODE_W;
            let x1 = x_of(b.column + 1);
            let curve = |y0: f64, y1: f64| -> Vec<(f64, f64)> {
                (0..=24)
                    .map(|i| {
                        let t = i as f64 / 24.0;
                        // A cubic with horizontal tangents at both ends.
                        let s = t * t * (3.0 - 2.0 * t);
                        (x0 + (x1 - x0) * t, y0 + (y1 - y0) * s)
                    })
                    .collect()
            };
            let mut points = curve(b.y_from, b.y_to);
            let mut lower = curve(b.y_from + b.thickness, b.y_to + b.thickness);
            lower.reverse();
            points.extend(lower);
            let points: Vec<(i32, i32)> = points
                .into_iter()
                .map(|(x, y)| (x.round() as i32, y.round() as i32))
                .collect();
            root.draw(&Polygon::new(points, colour(&b.from).mix(0.45).filled()))
                .map_err(ChartError::draw)?;
        }
        for c in 0..columns {
            let x = x_of(c).round() as i32;
            let style = if c + 1 == columns && columns > 1 {
                font.clone().pos(text_anchor::Pos::new(
                    text_anchor::HPos::Right,
                    text_anchor::VPos::Top,
                ))
            } else {
                font.clone()
            };
            let x_text = if c + 1 == columns && columns > 1 {
                x + NODE_W as i32
            } else {
                x
            };
            root.draw(&Text::new(heading(c), (x_text, 4), style))
                .map_err(ChartError::draw)?;
        }
        for n in &nodes {
            let x = x_of(n.column);
            let (y0, y1) = (n.y.round() as i32, (n.y + n.height).round() as i32);
            root.draw(&Rectangle::new(
                [
                    (x.round() as i32, y0),
                    ((x + NODE_W).round() as i32, y1.max(y0 + 1)),
                ],
                colour(&n.channel).filled(),
            ))
            .map_err(ChartError::draw)?;
            let label = format!("{} {}", n.channel, count(n.journeys));
            let last = n.column + 1 == columns && columns > 1;
            let (tx, h) = if last {
                (x.round() as i32 - 4, text_anchor::HPos::Right)
            } else {
                ((x + NODE_W).round() as i32 + 4, text_anchor::HPos::Left)
            };
            let style = font
                .clone()
                .pos(text_anchor::Pos::new(h, text_anchor::VPos::Center));
            let ty = ((n.y + n.height / 2.0).round() as i32).max(y0 + 8);
            root.draw(&Text::new(label, (tx, ty), style))
                .map_err(ChartError::draw)?;
        }
        root.present().map_err(ChartError::draw)?;
    }
    Ok(crate::server::charts::with_title(svg, title))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(position: u32, from: &str, to: &str, journeys: u64) -> FlowLink {
        FlowLink {
            position,
            from: from.to_string(),
            to: to.to_string(),
            journeys,
        }
    }

    #[test]
    fn bands_are_as_thick_as_their_journeys_on_one_scale() {
        // ads > web: 30, ads > store: 10, web > store: 20 (second hop).
        // Column 0: ads 40. Column 1: web max(30 in, 20 out) = 30, store 10; total 40 and one
        // gap of 16 in 216 px: (216 - 16) / 40 = 5 px per journey, the smallest scale.
        // Column 2: store 20.
        let links = [
            link(0, "ads", "web", 30),
            link(0, "ads", "store", 10),
            link(1, "web", "store", 20),
        ];
        let (nodes, bands) = layout(&links, 0.0, 216.0);
        let node = |c: usize, ch: &str| {
            nodes
                .iter()
                .find(|n| n.column == c && n.channel == ch)
                .cloned()
                .expect("node")
        };
        assert_eq!(node(0, "ads").height, 200.0);
        assert_eq!(node(1, "web").height, 150.0);
        assert_eq!(node(1, "store").y, 166.0, "after web (150) and a gap (16)");
        assert_eq!(node(2, "store").height, 100.0);
        let band = |c: usize, to: &str| {
            bands
                .iter()
                .find(|b| b.column == c && b.to == to)
                .cloned()
                .expect("band")
        };
        assert_eq!(band(0, "web").thickness, 150.0);
        assert_eq!(band(0, "store").thickness, 50.0);
        // Leaving ads: web's band on top, store's below it; arriving at store in column 1.
        assert_eq!(
            (band(0, "web").y_from, band(0, "store").y_from),
            (0.0, 150.0)
        );
        assert_eq!(band(0, "store").y_to, 166.0);
        assert_eq!(band(1, "store").thickness, 100.0);
    }

    #[test]
    fn renders_the_title_the_bands_and_the_labels() {
        let links = [link(0, "ads", "web", 3), link(0, "web", "store", 1)];
        let svg = render(&links, "Flow", &|c| format!("Step {}", c + 1), &|n| {
            n.to_string()
        })
        .expect("svg");
        assert!(svg.starts_with("<svg") && svg.contains("<title>Flow</title>"));
        assert!(svg.contains("Step 2") && svg.contains("ads 3") && svg.contains("store 1"));
        assert!(svg.contains("<polygon"), "bands are polygons");
        let empty = render(&[], "Flow", &|c| c.to_string(), &|n| n.to_string()).expect("svg");
        assert!(empty.contains("<title>Flow</title>"));
    }
}
