//! The bar chart: each kernel's time on each runtime relative to a
//! reference runtime (native when it ran), on a logarithmic axis.

use std::fmt::Write;

use super::Results;
use crate::stats;

/// Bar colours, one per runtime column (cycled).
const COLOURS: [&str; 7] = [
    "#1f77b4", "#aec7e8", "#ff7f0e", "#2ca02c", "#7f7f7f", "#9467bd", "#d62728",
];
const BAR: f64 = 9.0;
const GAP: f64 = 14.0;
const LEFT: f64 = 64.0;
const TOP: f64 = 58.0;
const PLOT_HEIGHT: f64 = 300.0;
const BOTTOM: f64 = 110.0;

/// The SVG chart of `results`.
pub fn svg(results: &Results) -> String {
    let names: Vec<&str> = results.runtimes.iter().map(|r| r.name.as_str()).collect();
    let reference = if names.contains(&"native") {
        "native"
    } else {
        names.first().copied().unwrap_or("")
    };
    // One group per kernel the reference passed, plus the geometric mean.
    let mut groups: Vec<(String, Vec<Option<f64>>)> = results
        .kernels
        .iter()
        .filter_map(|k| {
            let base = k.median_of(reference)?;
            Some((
                k.name.clone(),
                names
                    .iter()
                    .map(|n| k.median_of(n).map(|ms| ms / base))
                    .collect(),
            ))
        })
        .collect();
    let geomeans: Vec<Option<f64>> = (0..names.len())
        .map(|i| {
            let values: Vec<f64> = groups.iter().filter_map(|(_, v)| v[i]).collect();
            (values.len() == groups.len() && !values.is_empty()).then(|| stats::geomean(&values))
        })
        .collect();
    groups.push(("geomean".to_owned(), geomeans));

    let all: Vec<f64> = groups
        .iter()
        .flat_map(|(_, v)| v.iter().flatten().copied())
        .collect();
    let lo = all.iter().copied().fold(1.0, f64::min).log10().floor();
    let hi = all
        .iter()
        .copied()
        .fold(1.0, f64::max)
        .log10()
        .ceil()
        .max(lo + 1.0);
    let y = |ratio: f64| TOP + PLOT_HEIGHT * (hi - ratio.log10()) / (hi - lo);

    let group_width = BAR * names.len() as f64 + GAP;
    let width = LEFT + group_width * groups.len() as f64 + 20.0;
    let height = TOP + PLOT_HEIGHT + BOTTOM;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="16" font-size="13" font-weight="bold">Time relative to {reference} (log scale, lower is better): {} size, {}</text>"#,
        results.size, results.date
    );
    // Legend.
    let mut x = LEFT;
    for (i, name) in names.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let _ = writeln!(
            svg,
            r#"<rect x="{x:.1}" y="26" width="10" height="10" fill="{colour}"/>"#
        );
        let _ = writeln!(svg, r#"<text x="{:.1}" y="35">{name}</text>"#, x + 14.0);
        x += 24.0 + 7.0 * name.len() as f64;
    }
    // Axis: a grid line per power of ten.
    for power in (lo as i32)..=(hi as i32) {
        let gy = y(10f64.powi(power));
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{gy:.1}" x2="{:.1}" y2="{gy:.1}" stroke="#ccc"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}x</text>"##,
            width - 20.0,
            LEFT - 6.0,
            gy + 4.0,
            axis_label(power)
        );
    }
    // Bars.
    for (g, (kernel, ratios)) in groups.iter().enumerate() {
        let gx = LEFT + GAP / 2.0 + group_width * g as f64;
        for (i, ratio) in ratios.iter().enumerate() {
            let Some(ratio) = ratio else { continue };
            let top = y(*ratio).min(y(10f64.powf(lo)));
            let bottom = y(10f64.powf(lo));
            let _ = writeln!(
                svg,
                r#"<rect x="{:.1}" y="{top:.1}" width="{BAR}" height="{:.1}" fill="{}"><title>{kernel} {}: {ratio:.2}x</title></rect>"#,
                gx + BAR * i as f64,
                (bottom - top).max(0.5),
                COLOURS[i % COLOURS.len()],
                names[i]
            );
        }
        let lx = gx + BAR * names.len() as f64 / 2.0;
        let ly = TOP + PLOT_HEIGHT + 10.0;
        let weight = if kernel == "geomean" {
            r#" font-weight="bold""#
        } else {
            ""
        };
        let _ = writeln!(
            svg,
            r#"<text x="{lx:.1}" y="{ly:.1}" text-anchor="end" transform="rotate(-50 {lx:.1} {ly:.1})"{weight}>{kernel}</text>"#
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn axis_label(power: i32) -> String {
    if power >= 0 {
        format!("{}", 10u64.pow(power as u32))
    } else {
        format!("{}", 10f64.powi(power))
    }
}
