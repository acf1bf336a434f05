//! Looking inside a trained LSTM (Karpathy, Johnson & Fei-Fei 2015, "Visualizing and
//! Understanding Recurrent Networks"): run a [`LanguageModel`] over a text, keep every
//! layer's gates, cell states and outputs at every character, and ask two questions of
//! them. Does some cell track a property of the text that spans many characters (being
//! inside brackets, the position in the line)? How often is each gate saturated, nearly
//! shut or nearly open? The chapter "Looking inside a trained network" uses every function
//! here.
//!
//! Nothing is computed twice: [`record`] runs the model's own forward pass and copies what
//! the fast LSTM's cache already holds for backpropagation.

use crate::error::{check_shape, require, Error};
use crate::fast::FastReal;
use crate::lm::{LanguageModel, LmWorkspace};
use crate::Result;
use ndarray::{s, Array2, ArrayView1, ArrayView2, ArrayView3, Axis};

/// The paper's thresholds: a gate below this is *left-saturated* (nearly shut).
pub const LEFT: f64 = 0.1;
/// The paper's thresholds: a gate above this is *right-saturated* (nearly open).
pub const RIGHT: f64 = 0.9;

/// One layer's internals over a text: row t is the state after reading character t,
/// column j is unit j. Every array is (T, H).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerTrace<F> {
    /// $c_t$, the cell state.
    pub c: Array2<F>,
    /// $\tanh(c_t)$, what the output gate lets through: the paper's visualised value.
    pub tanh_c: Array2<F>,
    /// $h_t = o_t \odot \tanh(c_t)$, what the layer above and the head read.
    pub h: Array2<F>,
    /// $i_t$, the input gate.
    pub i: Array2<F>,
    /// $f_t$, the forget gate.
    pub f: Array2<F>,
    /// $g_t$, the candidate (a tanh, not a gate: it is never "saturated" in the paper's sense).
    pub g: Array2<F>,
    /// $o_t$, the output gate.
    pub o: Array2<F>,
}

/// The three sigmoid gates whose saturation the paper measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// $i_t$.
    Input,
    /// $f_t$.
    Forget,
    /// $o_t$.
    Output,
}

impl Gate {
    /// All three, in the order the book's tables list them.
    pub const ALL: [Gate; 3] = [Gate::Input, Gate::Forget, Gate::Output];

    /// The gate's name in tables and legends.
    pub fn name(self) -> &'static str {
        match self {
            Gate::Input => "input gate i",
            Gate::Forget => "forget gate f",
            Gate::Output => "output gate o",
        }
    }
}

impl<F: FastReal> LayerTrace<F> {
    fn zeros(t_len: usize, h: usize) -> Self {
        let z = Array2::zeros((t_len, h));
        LayerTrace {
            c: z.clone(),
            tanh_c: z.clone(),
            h: z.clone(),
            i: z.clone(),
            f: z.clone(),
            g: z.clone(),
            o: z,
        }
    }

    /// The activations of `gate`: (T, H).
    pub fn gate(&self, gate: Gate) -> ArrayView2<'_, F> {
        match gate {
            Gate::Input => self.i.view(),
            Gate::Forget => self.f.view(),
            Gate::Output => self.o.view(),
        }
    }
}

// ANCHOR: record
/// Runs `model` over `ids` as one stream from the zero state, `window` characters per
/// forward call with the state carried between calls (so the result does not depend on
/// `window`), and returns every layer's internals, bottom layer first. Row t of each
/// array is the state after reading `ids[t]`.
pub fn record<F: FastReal>(
    model: &LanguageModel<F>,
    ids: &[usize],
    window: usize,
) -> Result<Vec<LayerTrace<F>>> {
    require(window >= 1, "window", "must be at least 1, got 0")?;
    check_shape("ids", &[ids.len()], &[("T", None)])?;
    let (t_len, h) = (ids.len(), model.config().hidden_size);
    let mut traces: Vec<LayerTrace<F>> = (0..model.layers.len())
        .map(|_| LayerTrace::zeros(t_len, h))
        .collect();
    let mut state = model.zero_state(1);
    let mut ws = LmWorkspace::default();
    for start in (0..t_len).step_by(window) {
        let end = (start + window).min(t_len);
        let inputs =
            Array2::from_shape_vec((end - start, 1), ids[start..end].to_vec()).expect("one column"); // (T_w, 1)
        model.forward(inputs.view(), &mut state, &mut ws)?;
        for (trace, cache) in traces.iter_mut().zip(ws.caches()) {
            let rows = s![start..end, ..];
            let gates = cache.gates().index_axis_move(Axis(1), 0); // (T_w, 4H): i, f, g, o
            let stream = |a: ArrayView3<F>| a.index_axis(Axis(1), 0).to_owned(); // (T_w, H)
            trace.c.slice_mut(rows).assign(&stream(cache.cs()));
            trace
                .tanh_c
                .slice_mut(rows)
                .assign(&stream(cache.tanh_cs()));
            trace.h.slice_mut(rows).assign(&stream(cache.hs()));
            trace.i.slice_mut(rows).assign(&gates.slice(s![.., ..h]));
            trace
                .f
                .slice_mut(rows)
                .assign(&gates.slice(s![.., h..2 * h]));
            trace
                .g
                .slice_mut(rows)
                .assign(&gates.slice(s![.., 2 * h..3 * h]));
            trace
                .o
                .slice_mut(rows)
                .assign(&gates.slice(s![.., 3 * h..]));
        }
    }
    Ok(traces)
}
// ANCHOR_END: record

/// Per unit, the fraction of steps a gate spent saturated on each side.
#[derive(Clone, Debug, PartialEq)]
pub struct Saturation {
    /// Fraction of steps with activation below the left threshold, one per unit.
    pub left: Vec<f64>,
    /// Fraction of steps with activation above the right threshold, one per unit.
    pub right: Vec<f64>,
}

// ANCHOR: saturation
/// The paper's saturation statistics of one gate's activations (T, H): for every unit,
/// the fraction of the T steps at which it was below `left` (left-saturated, nearly shut)
/// and above `right` (right-saturated, nearly open). The paper uses [`LEFT`] and [`RIGHT`].
pub fn saturation<F: FastReal>(gate: ArrayView2<F>, left: f64, right: f64) -> Result<Saturation> {
    check_shape("gate", gate.shape(), &[("T", None), ("H", None)])?;
    require(
        (0.0..=1.0).contains(&left) && (0.0..=1.0).contains(&right) && left < right,
        "left",
        format!("thresholds must satisfy 0 <= left < right <= 1, got left {left}, right {right}"),
    )?;
    let steps = gate.nrows() as f64;
    let fraction = |unit: ArrayView1<F>, saturated: &dyn Fn(f64) -> bool| {
        unit.iter().filter(|a| saturated(a.as_f64())).count() as f64 / steps
    };
    Ok(Saturation {
        left: gate
            .columns()
            .into_iter()
            .map(|u| fraction(u, &|a| a < left))
            .collect(),
        right: gate
            .columns()
            .into_iter()
            .map(|u| fraction(u, &|a| a > right))
            .collect(),
    })
}
// ANCHOR_END: saturation

// ANCHOR: features
/// 1 for every character read while inside a pair of delimiters, else 0: the value after
/// reading character t, so the opening delimiter itself is inside and the closing one is
/// not. Distinct `open` and `close` nest (`[a [b] c]` stays inside until the last `]`; a
/// stray `close` is ignored); equal ones, as quotes, toggle.
pub fn inside(text: &str, open: char, close: char) -> Vec<f64> {
    let mut depth = 0usize;
    text.chars()
        .map(|ch| {
            if open == close && ch == open {
                depth = 1 - depth.min(1);
            } else if ch == open {
                depth += 1;
            } else if ch == close {
                depth = depth.saturating_sub(1);
            }
            f64::from(depth > 0)
        })
        .collect()
}

/// The position in the line: how many characters have been read since the last newline
/// (0 at the newline itself, 1 at a line's first character).
pub fn column(text: &str) -> Vec<f64> {
    let mut n = 0usize;
    text.chars()
        .map(|ch| {
            n = if ch == '\n' { 0 } else { n + 1 };
            n as f64
        })
        .collect()
}

/// 1 for the characters of a line written in capitals (at least two letters, none
/// lowercase): in the Shakespeare corpus, a speaker's name such as `PANDARUS.` or a heading
/// such as `ACT I.`. The newline that ends the line is 0.
pub fn caps_line(text: &str) -> Vec<f64> {
    let mut out = Vec::with_capacity(text.len());
    for (k, line) in text.split('\n').enumerate() {
        if k > 0 {
            out.push(0.0); // the newline before this line
        }
        let letters = line.chars().filter(|c| c.is_alphabetic()).count();
        let caps = letters >= 2 && !line.chars().any(char::is_lowercase);
        out.extend(line.chars().map(|_| f64::from(caps)));
    }
    out
}
// ANCHOR_END: features

// ANCHOR: pearson
/// Pearson's correlation of `x` and `y`, which must have the same length:
/// $r = \sum_t (x_t - \bar x)(y_t - \bar y) / \sqrt{\sum_t (x_t - \bar x)^2 \sum_t (y_t -
/// \bar y)^2}$. A constant series has no linear relation to anything: its $r$ is 0.
pub fn pearson(x: &[f64], y: &[f64]) -> Result<f64> {
    check_shape("x", &[x.len()], &[("T", None)])?;
    check_shape("y", &[y.len()], &[("T", Some(x.len()))])?;
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    Ok(if sxx > 0.0 && syy > 0.0 {
        sxy / (sxx * syy).sqrt()
    } else {
        0.0
    })
}
// ANCHOR_END: pearson

/// How well one threshold on one unit predicts a 0/1 feature.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdFit {
    /// Fraction of steps classified correctly.
    pub accuracy: f64,
    /// The threshold: between two neighbouring observed values.
    pub threshold: f64,
    /// Whether "above the threshold" predicts 1 (else "below" does).
    pub above: bool,
    /// The accuracy of always answering the more common label: what the unit must beat.
    pub baseline: f64,
}

// ANCHOR: threshold
/// The best single threshold on `x` for predicting `labels` (1 above it, or 1 below it,
/// whichever is better), by sorting `x` once and sweeping the cut through it.
pub fn threshold_accuracy(x: &[f64], labels: &[bool]) -> Result<ThresholdFit> {
    check_shape("x", &[x.len()], &[("T", None)])?;
    check_shape("labels", &[labels.len()], &[("T", Some(x.len()))])?;
    let n = x.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let positives = labels.iter().filter(|&&l| l).count();
    // Cut k: the k smallest values are predicted 0, the rest 1. Cut 0 predicts all 1.
    let (mut negatives_below, mut positives_below) = (0usize, 0usize);
    let mut best = (positives, 0usize); // (correct when "above" predicts 1, cut)
    let mut best_below = (n - positives, 0usize); // the mirror: "below" predicts 1
    for k in 1..=n {
        if labels[order[k - 1]] {
            positives_below += 1;
        } else {
            negatives_below += 1;
        }
        let tie = k < n && x[order[k]] == x[order[k - 1]];
        if tie {
            continue; // a threshold cannot split equal values
        }
        let correct = negatives_below + (positives - positives_below);
        if correct > best.0 {
            best = (correct, k);
        }
        if n - correct > best_below.0 {
            best_below = (n - correct, k);
        }
    }
    let cut_value = |k: usize| match k {
        0 => x[order[0]] - 1.0,
        k if k == n => x[order[n - 1]] + 1.0,
        k => 0.5 * (x[order[k - 1]] + x[order[k]]),
    };
    let (correct, k, above) = if best.0 >= best_below.0 {
        (best.0, best.1, true)
    } else {
        (best_below.0, best_below.1, false)
    };
    Ok(ThresholdFit {
        accuracy: correct as f64 / n as f64,
        threshold: cut_value(k),
        above,
        baseline: positives.max(n - positives) as f64 / n as f64,
    })
}
// ANCHOR_END: threshold

/// The unit of a layer that tracks a feature best.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitMatch {
    /// Its index.
    pub unit: usize,
    /// Its correlation with the feature (the sign says which way it tracks it).
    pub r: f64,
    /// The median |r| over all units: how special the best one is.
    pub median_abs_r: f64,
    /// For a 0/1 feature, the best threshold on that one unit.
    pub threshold: Option<ThresholdFit>,
}

// ANCHOR: best_unit
/// Correlates every unit of `acts` (T, H) with `feature` (T values) and returns the unit
/// with the largest |r|, the median |r| of all units beside it, and, when the feature is
/// 0/1, how well a threshold on that unit alone predicts it.
pub fn best_unit<F: FastReal>(acts: ArrayView2<F>, feature: &[f64]) -> Result<UnitMatch> {
    check_shape("acts", acts.shape(), &[("T", None), ("H", None)])?;
    check_shape("feature", &[feature.len()], &[("T", Some(acts.nrows()))])?;
    if feature.iter().all(|&v| v == feature[0]) {
        return Err(Error::Value {
            arg: "feature",
            reason: format!("is constant ({}): nothing to track", feature[0]),
        });
    }
    let units: Vec<Vec<f64>> = acts
        .columns()
        .into_iter()
        .map(|u| u.iter().map(|a| a.as_f64()).collect())
        .collect();
    let rs = units
        .iter()
        .map(|u| pearson(u, feature))
        .collect::<Result<Vec<f64>>>()?;
    let unit = (0..rs.len())
        .max_by(|&a, &b| rs[a].abs().total_cmp(&rs[b].abs()))
        .expect("at least one unit");
    let binary = feature.iter().all(|&v| v == 0.0 || v == 1.0);
    let threshold = if binary {
        let labels: Vec<bool> = feature.iter().map(|&v| v == 1.0).collect();
        Some(threshold_accuracy(&units[unit], &labels)?)
    } else {
        None
    };
    Ok(UnitMatch {
        unit,
        r: rs[unit],
        median_abs_r: median(rs.iter().map(|r| r.abs()).collect()),
        threshold,
    })
}
// ANCHOR_END: best_unit

/// The median (the mean of the two middle values for an even count).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

// ANCHOR: html
/// The background of a value in [−1, 1] (clamped): white at 0, towards blue for −1 and
/// red for +1, as the paper's figures. The extremes stop at a quarter white so black text
/// stays readable on them.
pub fn colour(v: f64) -> (u8, u8, u8) {
    let v = if v.is_finite() {
        v.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let fade = (255.0 * (1.0 - 0.75 * v.abs())).round() as u8;
    if v >= 0.0 {
        (255, fade, fade)
    } else {
        (fade, fade, 255)
    }
}

/// Escapes a character for HTML inside Markdown: the HTML specials, and the characters
/// mdBook or its KaTeX preprocessor would read (`$` opens math, `{{` an include).
fn escape(ch: char) -> String {
    match ch {
        '&' => "&amp;".into(),
        '<' => "&lt;".into(),
        '>' => "&gt;".into(),
        '"' => "&quot;".into(),
        '\'' => "&#39;".into(),
        '$' => "&#36;".into(),
        '{' => "&#123;".into(),
        '}' => "&#125;".into(),
        '\\' => "&#92;".into(),
        '`' => "&#96;".into(),
        c => c.to_string(),
    }
}

/// `text` as one `<pre>` block with one `<span>` per character, its background the
/// [`colour`] of `values[t]` (one value per character). A newline is shown as a coloured
/// `↵` before the line break, since the value at a newline matters (a line-length cell
/// resets there).
pub fn to_html(text: &str, values: &[f64]) -> Result<String> {
    let chars: Vec<char> = text.chars().collect();
    check_shape("values", &[values.len()], &[("T", Some(chars.len()))])?;
    let mut html = String::from("<pre class=\"inside\" style=\"line-height:1.5\">");
    for (&ch, &v) in chars.iter().zip(values) {
        let (r, g, b) = colour(v);
        let shown = if ch == '\n' { "↵".into() } else { escape(ch) };
        html.push_str(&format!(
            "<span style=\"background:#{r:02x}{g:02x}{b:02x}\">{shown}</span>"
        ));
        if ch == '\n' {
            html.push('\n');
        }
    }
    html.push_str("</pre>\n");
    Ok(html)
}

/// One line that says what the colours mean: swatches from −1 to +1.
pub fn legend(what: &str) -> String {
    let swatches: Vec<String> = [-1.0, -0.5, 0.0, 0.5, 1.0]
        .iter()
        .map(|&v| {
            let (r, g, b) = colour(v);
            format!(
                "<span style=\"background:#{r:02x}{g:02x}{b:02x};padding:0 0.6em\">{}</span>",
                if v == 0.0 {
                    "0".to_string()
                } else {
                    format!("{v:+}").replace('-', "−")
                }
            )
        })
        .collect();
    format!("<p>{} {}</p>\n", escape_str(what), swatches.join(""))
}
// ANCHOR_END: html

fn escape_str(s: &str) -> String {
    s.chars().map(escape).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lm::LmConfig;
    use crate::{Lstm, Recurrent};
    use ndarray::{arr2, Array3};

    fn model(layers: usize) -> LanguageModel<f64> {
        LanguageModel::new(&LmConfig {
            vocab_size: 6,
            embed_size: 4,
            hidden_size: 5,
            layers,
            seed: 7,
            ..LmConfig::default()
        })
        .unwrap()
    }

    const IDS: [usize; 11] = [0, 3, 5, 1, 1, 2, 4, 0, 5, 3, 2];

    #[test]
    fn recorded_h_is_what_the_forward_pass_computes() {
        let m = model(2);
        // Windows of 3 with the carried state: the same as one window of all 11.
        let traces = record(&m, &IDS, 3).unwrap();
        assert_eq!(traces.len(), 2);
        let inputs = Array2::from_shape_vec((IDS.len(), 1), IDS.to_vec()).unwrap();
        let logits = m
            .forward(
                inputs.view(),
                &mut m.zero_state(1),
                &mut LmWorkspace::default(),
            )
            .unwrap(); // (T, V)
        let from_trace = m.head.forward(traces[1].h.view()).unwrap(); // (T, V)
        for (a, b) in logits.iter().zip(&from_trace) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        // The bottom layer agrees with the readable LSTM run on the embedded characters.
        let lstm: Lstm<f64> = m.layers[0].to_lstm().unwrap();
        let xs = Array3::from_shape_fn((IDS.len(), 1, 4), |(t, _, e)| m.embedding[[IDS[t], e]]);
        let cache = lstm.forward_seq(xs.view(), &lstm.zero_state(1)).unwrap();
        let hs = lstm.outputs(&cache); // (T, 1, H)
        for t in 0..IDS.len() {
            for j in 0..5 {
                assert!((hs[[t, 0, j]] - traces[0].h[[t, j]]).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn recorded_internals_satisfy_the_lstm_equations() {
        let m = model(2);
        for tr in record(&m, &IDS, 4).unwrap() {
            for t in 0..IDS.len() {
                for j in 0..5 {
                    let c_prev = if t == 0 { 0.0 } else { tr.c[[t - 1, j]] };
                    let c = tr.f[[t, j]] * c_prev + tr.i[[t, j]] * tr.g[[t, j]];
                    assert!((c - tr.c[[t, j]]).abs() < 1e-12);
                    assert!((tr.c[[t, j]].tanh() - tr.tanh_c[[t, j]]).abs() < 1e-12);
                    assert!((tr.o[[t, j]] * tr.tanh_c[[t, j]] - tr.h[[t, j]]).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn record_rejects_bad_input() {
        let m = model(1);
        assert!(record(&m, &IDS, 0)
            .unwrap_err()
            .to_string()
            .contains("window"));
        assert!(record(&m, &[], 4).unwrap_err().to_string().contains("ids"));
        assert!(record(&m, &[1, 6], 4)
            .unwrap_err()
            .to_string()
            .contains("token 6"));
    }

    #[test]
    fn saturation_counts_each_side() {
        // Unit 0: 0.05, 0.5, 0.95, 0.99 -> left 1/4, right 2/4; unit 1 always 0.5.
        let gate = arr2(&[[0.05, 0.5], [0.5, 0.5], [0.95, 0.5], [0.99, 0.5]]);
        let s = saturation(gate.view(), LEFT, RIGHT).unwrap();
        assert_eq!(s.left, vec![0.25, 0.0]);
        assert_eq!(s.right, vec![0.5, 0.0]);
        let err = saturation(gate.view(), 0.9, 0.1).unwrap_err();
        assert!(err.to_string().contains("left 0.9, right 0.1"), "{err}");
        let empty = Array2::<f64>::zeros((0, 2));
        assert!(saturation(empty.view(), LEFT, RIGHT).is_err());
    }

    #[test]
    fn features_have_known_answers() {
        assert_eq!(
            inside("a[b[c]d]e]", '[', ']'),
            vec![0., 1., 1., 1., 1., 1., 1., 0., 0., 0.]
        );
        assert_eq!(inside("x'ab'y", '\'', '\''), vec![0., 1., 1., 1., 0., 0.]);
        assert_eq!(column("ab\ncde\n"), vec![1., 2., 0., 1., 2., 3., 0.]);
        assert_eq!(
            caps_line("ROMEO.\nHi, I.\nACT I.\n"),
            [
                vec![1.0; 6],
                vec![0.0],
                vec![0.0; 6],
                vec![0.0],
                vec![1.0; 6],
                vec![0.0]
            ]
            .concat()
        );
        // A single capital ("I.") is a line of one letter, not a name.
        assert_eq!(caps_line("I.\n"), vec![0.0; 3]);
        // Features count characters, not bytes.
        assert_eq!(column("é\n").len(), 2);
    }

    #[test]
    fn pearson_has_known_answers() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert!((pearson(&x, &[2.0, 4.0, 6.0, 8.0]).unwrap() - 1.0).abs() < 1e-15);
        assert!((pearson(&x, &[4.0, 3.0, 2.0, 1.0]).unwrap() + 1.0).abs() < 1e-15);
        // x against (1, 0, 0, 1): no linear trend.
        assert_eq!(pearson(&x, &[1.0, 0.0, 0.0, 1.0]).unwrap(), 0.0);
        // (1, 2, 3) against (1, 3, 2): r = 0.5.
        assert!((pearson(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]).unwrap() - 0.5).abs() < 1e-15);
        assert_eq!(pearson(&x, &[5.0; 4]).unwrap(), 0.0);
        let err = pearson(&x, &[1.0, 2.0]).unwrap_err().to_string();
        assert!(
            err.contains("`y`") && err.contains("T=4") && err.contains("[2]"),
            "{err}"
        );
        assert!(pearson(&[], &[]).is_err());
    }

    #[test]
    fn threshold_finds_the_separating_cut() {
        let x = [0.1, 0.9, 0.2, 0.8, 0.3];
        let labels = [false, true, false, true, false];
        let fit = threshold_accuracy(&x, &labels).unwrap();
        assert_eq!(fit.accuracy, 1.0);
        assert!(fit.above && (fit.threshold - 0.55).abs() < 1e-12);
        assert_eq!(fit.baseline, 0.6);
        // Reversed labels: "below" predicts 1.
        let flipped: Vec<bool> = labels.iter().map(|l| !l).collect();
        let fit = threshold_accuracy(&x, &flipped).unwrap();
        assert!(!fit.above && fit.accuracy == 1.0);
        // Equal values cannot be split: the best is 2 of 3.
        let fit = threshold_accuracy(&[0.5, 0.5, 0.5], &[true, false, true]).unwrap();
        assert!((fit.accuracy - 2.0 / 3.0).abs() < 1e-15);
        let err = threshold_accuracy(&x, &labels[..3])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`labels`") && err.contains("T=5") && err.contains("[3]"));
    }

    #[test]
    fn best_unit_finds_the_tracking_unit() {
        // Unit 1 is the feature plus a little; unit 0 is noise-like; unit 2 its negative.
        let feature = [0.0, 1.0, 1.0, 0.0, 1.0, 0.0];
        let acts = arr2(&[
            [0.3, 0.1, -0.2],
            [-0.1, 0.9, -0.5],
            [0.2, 0.8, -0.6],
            [0.0, 0.2, -0.4],
            [0.1, 0.7, -0.3],
            [-0.3, 0.0, -0.1],
        ]);
        let m = best_unit(acts.view(), &feature).unwrap();
        assert_eq!(m.unit, 1);
        assert!(m.r > 0.95);
        let fit = m.threshold.unwrap();
        assert_eq!(fit.accuracy, 1.0);
        assert_eq!(fit.baseline, 0.5);
        assert!(m.median_abs_r < m.r.abs());
        // A continuous feature has no threshold accuracy.
        let ramp = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert!(best_unit(acts.view(), &ramp).unwrap().threshold.is_none());
        let err = best_unit(acts.view(), &feature[..4])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`feature`") && err.contains("T=6") && err.contains("[4]"));
        assert!(best_unit(acts.view(), &[1.0; 6])
            .unwrap_err()
            .to_string()
            .contains("constant"));
    }

    #[test]
    fn html_colours_and_escapes() {
        assert_eq!(colour(0.0), (255, 255, 255));
        assert_eq!(colour(1.0), (255, 64, 64));
        assert_eq!(colour(-1.0), (64, 64, 255));
        assert_eq!(colour(7.0), colour(1.0));
        assert_eq!(colour(f64::NAN), (255, 255, 255));
        let html = to_html("a<\n$", &[1.0, 0.0, -1.0, 0.0]).unwrap();
        assert_eq!(
            html,
            "<pre class=\"inside\" style=\"line-height:1.5\">\
             <span style=\"background:#ff4040\">a</span>\
             <span style=\"background:#ffffff\">&lt;</span>\
             <span style=\"background:#4040ff\">↵</span>\n\
             <span style=\"background:#ffffff\">&#36;</span></pre>\n"
        );
        let err = to_html("abc", &[0.0]).unwrap_err().to_string();
        assert!(err.contains("`values`") && err.contains("T=3") && err.contains("[1]"));
        assert!(legend("tanh(c):").contains("−1"));
    }
}
