//! One line chart, shared by the experiments: labelled series, optional log axes (drawn
//! as log10 on a linear axis, with ticks labelled as powers of ten) and an optional
//! horizontal reference line (a baseline to beat); and side-by-side scatter panels.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

/// A named curve.
pub struct Series {
    /// The legend entry.
    pub label: String,
    /// (x, y) points in drawing order; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
}

/// What to draw.
pub struct Chart<'a> {
    /// Caption above the plot.
    pub title: &'a str,
    /// Axis descriptions.
    pub x_label: &'a str,
    /// Axis descriptions.
    pub y_label: &'a str,
    /// Plot log10(x) with power-of-ten tick labels.
    pub log_x: bool,
    /// Plot log10(y) with power-of-ten tick labels.
    pub log_y: bool,
    /// The curves.
    pub series: Vec<Series>,
    /// A dashed horizontal line at this y, with a legend label.
    pub reference: Option<(f64, &'a str)>,
}

/// A palette that stays distinguishable for up to twelve series (the remedies experiment
/// draws twelve curves on one chart).
pub const PALETTE: [RGBColor; 12] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 0),
    RGBColor(152, 223, 138),
];

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plotting: {e:?}")
}

/// The label of the tick at `v` = log10(value) on a log axis spanning `span` decades:
/// `1e-3` at a power of ten, otherwise the value with as many significant digits as the
/// tick spacing needs (`2.5e-3`, `1.26e-1`). Rounding every tick to its exponent alone, as
/// `1e{v:.0}` does, repeats the same label when the axis spans less than a decade.
pub fn log_tick(v: f64, span: f64) -> String {
    let exponent = v.round();
    if (v - exponent).abs() < 1e-9 {
        return format!("1e{exponent:.0}");
    }
    // Plotters puts about ten ticks on an axis, `span / 10` decades apart; neighbouring
    // values then differ by a factor of 10^(span/10), i.e. by a relative step of about
    // ln(10)·span/10, which needs this many significant digits to tell apart.
    let relative_step = (std::f64::consts::LN_10 * span / 10.0).max(1e-12);
    let digits = (1.0 - relative_step.log10()).ceil().clamp(2.0, 6.0) as usize;
    format!("{:.*e}", digits - 1, 10f64.powf(v))
}

/// Draws `chart` as an 800×500 SVG at `path`.
pub fn line_chart(path: &Path, chart: &Chart) -> Result<()> {
    let tx = |x: f64| if chart.log_x { x.log10() } else { x };
    let ty = |y: f64| if chart.log_y { y.log10() } else { y };
    let mut points: Vec<(f64, f64)> = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|&(x, y)| (tx(x), ty(y))))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if let Some((y, _)) = chart.reference {
        if let Some(&(x, _)) = points.first() {
            points.push((x, ty(y)));
        }
    }
    if points.is_empty() {
        return Err(anyhow!("nothing finite to plot in {:?}", chart.title));
    }
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in &points {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    let pad = |lo: f64, hi: f64| {
        let d = if hi > lo { (hi - lo) * 0.05 } else { 0.5 };
        (lo - d, hi + d)
    };
    let (x0, x1) = pad(x0, x1);
    let (y0, y1) = pad(y0, y1);

    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut plot = ChartBuilder::on(&root)
        .caption(chart.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let label = |log: bool, span: f64| {
        move |v: &f64| {
            if log {
                log_tick(*v, span)
            } else {
                format!("{v:.3}")
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_string()
            }
        }
    };
    plot.configure_mesh()
        .x_desc(chart.x_label)
        .y_desc(chart.y_label)
        .x_label_formatter(&label(chart.log_x, x1 - x0))
        .y_label_formatter(&label(chart.log_y, y1 - y0))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    for (k, series) in chart.series.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let pts: Vec<(f64, f64)> = series
            .points
            .iter()
            .map(|&(x, y)| (tx(x), ty(y)))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        plot.draw_series(LineSeries::new(pts, colour.stroke_width(2)))
            .map_err(err)?
            .label(series.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    if let Some((y, label)) = chart.reference {
        let y = ty(y);
        let dashes: Vec<PathElement<(f64, f64)>> = (0..40)
            .map(|k| {
                let a = x0 + (x1 - x0) * k as f64 / 40.0;
                let b = a + (x1 - x0) / 80.0;
                PathElement::new(vec![(a, y), (b, y)], BLACK.stroke_width(1))
            })
            .collect();
        plot.draw_series(dashes)
            .map_err(err)?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(1)));
    }
    plot.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// One panel of a [`scatter`]: a title and its point clouds, one colour each.
pub struct Panel {
    /// The panel's caption.
    pub title: String,
    /// The point clouds, one colour each, listed in the panel's legend.
    pub series: Vec<Series>,
}

/// Side-by-side scatter plots over the same fixed axes (a scatter has no natural padding:
/// fractions are drawn on [0, 1] × [0, 1], for example).
pub struct Scatter<'a> {
    /// Caption above all panels.
    pub title: &'a str,
    /// Axis descriptions, shared by the panels.
    pub x_label: &'a str,
    /// Axis descriptions, shared by the panels.
    pub y_label: &'a str,
    /// The x axis range.
    pub x_range: (f64, f64),
    /// The y axis range.
    pub y_range: (f64, f64),
    /// The panels, left to right.
    pub panels: Vec<Panel>,
}

/// Draws `chart` as an SVG of panels 420 wide and 460 high at `path`: one hollow circle
/// per point, so that piles of points at the same place still show as darker rings.
pub fn scatter(path: &Path, chart: &Scatter) -> Result<()> {
    let n = chart.panels.len().max(1);
    let root = SVGBackend::new(path, (420 * n as u32, 490)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(chart.title, ("sans-serif", 20)).map_err(err)?;
    let (x0, x1) = chart.x_range;
    let (y0, y1) = chart.y_range;
    for (area, panel) in root.split_evenly((1, n)).iter().zip(&chart.panels) {
        let mut plot = ChartBuilder::on(area)
            .caption(&panel.title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        plot.configure_mesh()
            .x_desc(chart.x_label)
            .y_desc(chart.y_label)
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for (k, series) in panel.series.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            let pts = series
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite());
            plot.draw_series(pts.map(|p| Circle::new(p, 3, colour.stroke_width(1))))
                .map_err(err)?
                .label(series.label.clone())
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, colour.filled()));
        }
        plot.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::log_tick;

    #[test]
    fn log_ticks_are_distinct_within_a_decade() {
        // A tenth of a decade: ticks 0.01 decades apart must all differ.
        let labels: Vec<String> = (0..10)
            .map(|k| log_tick(-2.0 + 0.01 * k as f64, 0.1))
            .collect();
        for pair in labels.windows(2) {
            assert_ne!(pair[0], pair[1], "{labels:?}");
        }
        assert_eq!(labels[0], "1e-2");
    }

    #[test]
    fn log_ticks_over_many_decades_stay_short() {
        assert_eq!(log_tick(-6.0, 12.0), "1e-6");
        assert_eq!(log_tick(3.0, 12.0), "1e3");
        assert_eq!(log_tick(-2.5, 12.0), "3.2e-3");
    }
}
