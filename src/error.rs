//! Errors: every public function checks its arguments and says what is wrong in terms of
//! the arguments the caller passed, instead of panicking deep inside a matrix multiply.

use crate::Real;
use ndarray::{ArrayBase, ArrayView2, ArrayView3, Data, Dimension, IntoDimension};
use std::fmt;

/// Everything that can go wrong when calling the crate.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// An array argument has the wrong shape. `expected` uses the book's symbols for the
    /// free axes (for example `[T, B, 3]`); `found` is the shape that was passed.
    Shape {
        /// The argument's name in the function's signature.
        arg: &'static str,
        /// The expected shape, free axes by their symbol.
        expected: String,
        /// The shape that was passed.
        found: Vec<usize>,
    },
    /// An argument has an axis of length zero (an empty sequence, an empty batch).
    Empty {
        /// The argument's name.
        arg: &'static str,
        /// The symbol of the empty axis (`T`, `B`, ...).
        axis: String,
    },
    /// An input holds a NaN or an infinity.
    NonFinite {
        /// The argument's name.
        arg: &'static str,
        /// The index of the first non-finite entry.
        index: Vec<usize>,
        /// That entry.
        value: f64,
    },
    /// A configuration value is out of its valid range.
    Config {
        /// The configuration field (or function argument) at fault.
        field: &'static str,
        /// What its valid range is and what was given.
        reason: String,
    },
    /// An argument holds a value out of range (a class index too large, for example).
    Value {
        /// The argument's name.
        arg: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape {
                arg,
                expected,
                found,
            } => write!(
                f,
                "shape mismatch in `{arg}`: expected {expected}, found {found:?}"
            ),
            Error::Empty { arg, axis } => {
                write!(f, "`{arg}` is empty: axis {axis} has length 0")
            }
            Error::NonFinite { arg, index, value } => {
                write!(
                    f,
                    "`{arg}` holds a non-finite value {value} at index {index:?}"
                )
            }
            Error::Config { field, reason } => {
                write!(f, "invalid configuration `{field}`: {reason}")
            }
            Error::Value { arg, reason } => write!(f, "invalid value in `{arg}`: {reason}"),
        }
    }
}

impl std::error::Error for Error {}

/// One axis of an expected shape: its symbol in the book (`"T"`, `"B"`, `"D"`, `"H"`) and,
/// when the axis must have a particular length, that length.
pub(crate) type Axis = (&'static str, Option<usize>);

fn describe(expected: &[Axis]) -> String {
    let parts: Vec<String> = expected
        .iter()
        .map(|(name, len)| match len {
            Some(n) => format!("{name}={n}"),
            None => (*name).to_string(),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// Checks rank, fixed axis lengths and non-emptiness of an argument.
pub(crate) fn check_shape(arg: &'static str, found: &[usize], expected: &[Axis]) -> Result<()> {
    let rank_ok = found.len() == expected.len();
    let lens_ok = rank_ok
        && found
            .iter()
            .zip(expected)
            .all(|(&n, (_, want))| want.is_none_or(|w| w == n));
    if !lens_ok {
        return Err(Error::Shape {
            arg,
            expected: describe(expected),
            found: found.to_vec(),
        });
    }
    if let Some((_, (name, _))) = found.iter().zip(expected).find(|(&n, _)| n == 0) {
        return Err(Error::Empty {
            arg,
            axis: (*name).to_string(),
        });
    }
    Ok(())
}

/// Rejects NaN and infinities, reporting the first offending index.
pub(crate) fn check_finite<F: Real, S: Data<Elem = F>, D: Dimension>(
    arg: &'static str,
    a: &ArrayBase<S, D>,
) -> Result<()> {
    // 0 · x is 0 for a finite x and NaN for an infinite or NaN one, and a sum of zeros stays
    // 0: one pass the compiler vectorises clears the usual case, and only an array with a
    // bad number pays for the search by index that names it. Sixteen running sums, not
    // one: a single sum waits for each addition before the next (a chain as long as the
    // array, 0.5 ms for the inputs of the benchmark's largest batch), sixteen vectorise.
    let all_finite = match a.as_slice_memory_order() {
        Some(numbers) => {
            let mut sums = [F::zero(); 16];
            let mut blocks = numbers.chunks_exact(16);
            for block in &mut blocks {
                let block: &[F; 16] = block.try_into().expect("chunks of 16");
                for (sum, &v) in sums.iter_mut().zip(block) {
                    *sum += v * F::zero();
                }
            }
            let rest = blocks
                .remainder()
                .iter()
                .fold(F::zero(), |sum, &v| sum + v * F::zero());
            sums.iter().fold(rest, |total, &sum| total + sum) == F::zero()
        }
        None => a.fold(F::zero(), |sum, &v| sum + v * F::zero()) == F::zero(),
    };
    if all_finite {
        return Ok(());
    }
    match a.indexed_iter().find(|(_, v)| !v.is_finite()) {
        None => Ok(()),
        Some((index, value)) => Err(Error::NonFinite {
            arg,
            index: index.into_dimension().slice().to_vec(),
            value: value.as_f64(),
        }),
    }
}

/// Checks one step's input `x_t` (B, D) for every recurrent layer; returns B.
pub(crate) fn check_step_input<F: Real>(x_t: &ArrayView2<F>, d: usize) -> Result<usize> {
    check_shape("x_t", x_t.shape(), &[("B", None), ("D", Some(d))])?;
    check_finite("x_t", x_t)?;
    Ok(x_t.nrows())
}

/// Checks a sequence `xs` (T, B, D) for every recurrent layer; returns B.
pub(crate) fn check_sequence_input<F: Real>(xs: &ArrayView3<F>, d: usize) -> Result<usize> {
    check_shape(
        "xs",
        xs.shape(),
        &[("T", None), ("B", None), ("D", Some(d))],
    )?;
    check_finite("xs", xs)?;
    Ok(xs.len_of(ndarray::Axis(1)))
}

/// Checks a state argument (`h0`, `h_prev`, `c0`, ...) of shape (B, H).
pub(crate) fn check_state<F: Real>(
    arg: &'static str,
    s: &ArrayView2<F>,
    b: usize,
    h: usize,
) -> Result<()> {
    check_shape(arg, s.shape(), &[("B", Some(b)), ("H", Some(h))])?;
    check_finite(arg, s)
}

/// The expected shape of a (T, B, H) gradient such as `dhs`, for [`check_shape`].
pub(crate) fn dims3((t, b, h): (usize, usize, usize)) -> [Axis; 3] {
    [("T", Some(t)), ("B", Some(b)), ("H", Some(h))]
}

/// Returns a configuration error unless `ok`.
pub(crate) fn require(ok: bool, field: &'static str, reason: impl Into<String>) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::Config {
            field,
            reason: reason.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr2;

    #[test]
    fn check_finite_finds_a_bad_number_anywhere_in_any_layout() {
        let good = ndarray::Array2::<f32>::from_shape_fn((7, 5), |(i, j)| (i * 5 + j) as f32);
        assert!(check_finite("x", &good).is_ok());
        assert!(check_finite("x", &good.t()).is_ok());
        assert!(check_finite("x", &good.slice(ndarray::s![.., 1..4])).is_ok());
        // In the blocks of sixteen, in the remainder, and in a view that is not contiguous.
        for (at, bad) in [
            ((0, 0), f32::NAN),
            ((2, 3), f32::INFINITY),
            ((6, 4), -f32::INFINITY),
        ] {
            let mut a = good.clone();
            a[at] = bad;
            // The array, and its transpose (a view in column-major order).
            for (view, index) in [(a.view(), [at.0, at.1]), (a.t(), [at.1, at.0])] {
                match check_finite("x", &view) {
                    Err(Error::NonFinite {
                        arg, index: found, ..
                    }) => {
                        assert_eq!((arg, found), ("x", index.to_vec()));
                    }
                    other => panic!("{bad} at {at:?}: {other:?}"),
                }
            }
            let strided = a.slice(ndarray::s![.., ..;2]);
            assert_eq!(check_finite("x", &strided).is_err(), at.1 % 2 == 0);
        }
    }

    #[test]
    fn shape_error_names_argument_and_both_shapes() {
        let err = check_shape(
            "xs",
            &[5, 3, 4],
            &[("T", None), ("B", None), ("D", Some(2))],
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`xs`"), "{msg}");
        assert!(msg.contains("[T, B, D=2]"), "{msg}");
        assert!(msg.contains("[5, 3, 4]"), "{msg}");
    }

    #[test]
    fn rank_mismatch_is_a_shape_error() {
        let err = check_shape("h0", &[3], &[("B", None), ("H", Some(3))]).unwrap_err();
        assert!(matches!(err, Error::Shape { arg: "h0", .. }));
    }

    #[test]
    fn empty_axis_is_named() {
        let err = check_shape(
            "xs",
            &[0, 2, 2],
            &[("T", None), ("B", None), ("D", Some(2))],
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "`xs` is empty: axis T has length 0");
    }

    #[test]
    fn nan_is_reported_with_its_index() {
        let a = arr2(&[[1.0, 2.0], [f64::NAN, 0.0]]);
        let err = check_finite("xs", &a).unwrap_err();
        assert!(
            matches!(err, Error::NonFinite { arg: "xs", ref index, value } if index == &[1, 0] && value.is_nan())
        );
        assert!(err.to_string().contains("[1, 0]"));
    }
}
