//! Saving and loading parameters as PyTorch-named `.npy` files: round trips, and a clear
//! error for every way a directory of weights can be wrong.

use ndarray::{Array, Array1, Array2, ArrayViewD, ArrayViewMutD};
use recurrent::gru::{Gru, GruConfig};
use recurrent::lstm::{Lstm, LstmConfig};
use recurrent::torch_io::{self, NpyFloat, TorchIoError};
use recurrent::{Params, Real};
use std::fs;
use std::path::{Path, PathBuf};

/// A layer with PyTorch's four tensors, independent of the LSTM and GRU code: G·H rows.
#[derive(Clone, Debug, PartialEq)]
struct Layer<F> {
    w_ih: Array2<F>,
    w_hh: Array2<F>,
    b_ih: Array1<F>,
    b_hh: Array1<F>,
}

impl<F: Real> Layer<F> {
    /// Distinct, exactly representable values, so that round trips compare with `==`.
    fn counting(gates: usize, d: usize, h: usize, start: f64) -> Self {
        let mut next = start;
        let mut take = |shape: &[usize]| {
            let n: usize = shape.iter().product();
            let v: Vec<F> = (0..n)
                .map(|_| {
                    next += 0.25;
                    F::cast(next)
                })
                .collect();
            Array::from_shape_vec(shape.to_vec(), v).unwrap()
        };
        let g = gates * h;
        Layer {
            w_ih: take(&[g, d]).into_dimensionality().unwrap(),
            w_hh: take(&[g, h]).into_dimensionality().unwrap(),
            b_ih: take(&[g]).into_dimensionality().unwrap(),
            b_hh: take(&[g]).into_dimensionality().unwrap(),
        }
    }

    fn zeros(gates: usize, d: usize, h: usize) -> Self {
        Layer {
            w_ih: Array2::zeros((gates * h, d)),
            w_hh: Array2::zeros((gates * h, h)),
            b_ih: Array1::zeros(gates * h),
            b_hh: Array1::zeros(gates * h),
        }
    }
}

impl<F: Real> Params<F> for Layer<F> {
    fn params(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)> {
        vec![
            ("w_ih", self.w_ih.view().into_dyn()),
            ("w_hh", self.w_hh.view().into_dyn()),
            ("b_ih", self.b_ih.view().into_dyn()),
            ("b_hh", self.b_hh.view().into_dyn()),
        ]
    }
    fn params_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, F>)> {
        vec![
            ("w_ih", self.w_ih.view_mut().into_dyn()),
            ("w_hh", self.w_hh.view_mut().into_dyn()),
            ("b_ih", self.b_ih.view_mut().into_dyn()),
            ("b_hh", self.b_hh.view_mut().into_dyn()),
        ]
    }
}

/// A fresh, empty directory for one test under Cargo's scratch directory for tests.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("torch_io-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const FILES: [&str; 4] = [
    "bias_hh_l0.npy",
    "bias_ih_l0.npy",
    "weight_hh_l0.npy",
    "weight_ih_l0.npy",
];

fn round_trip<F: NpyFloat>(name: &str) {
    let dir = scratch(name);
    let saved = Layer::<F>::counting(4, 3, 5, -7.0);
    torch_io::save_params(&saved, &dir).unwrap();
    assert_eq!(file_names(&dir), FILES);
    let mut loaded = Layer::<F>::zeros(4, 3, 5);
    torch_io::load_params(&mut loaded, &dir).unwrap();
    assert_eq!(loaded, saved);
    // The files are plain numpy arrays, as `numpy.save` writes them.
    let w: Array2<F> = torch_io::read_array::<F>(dir.join("weight_ih_l0.npy"))
        .unwrap()
        .into_dimensionality()
        .unwrap();
    assert_eq!(w, saved.w_ih);
    let bytes = fs::read(dir.join("bias_ih_l0.npy")).unwrap();
    assert!(bytes.starts_with(b"\x93NUMPY"));
    let descr = format!("'<f{}'", std::mem::size_of::<F>());
    assert!(String::from_utf8_lossy(&bytes[..128]).contains(&descr));
}

#[test]
fn round_trip_f64() {
    round_trip::<f64>("round-trip-f64");
}

#[test]
fn round_trip_f32() {
    round_trip::<f32>("round-trip-f32");
}

/// A directory exported from PyTorch loads into this crate's LSTM and GRU, and saving
/// them again reproduces PyTorch's arrays exactly.
#[test]
fn pytorch_exports_load_into_lstm_and_gru() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pytorch");
    let (d, h) = (4, 6);
    let lstm_config = LstmConfig {
        input_size: d,
        hidden_size: h,
        ..LstmConfig::default()
    };
    let mut lstm = Lstm::<f32>::new(&lstm_config).unwrap();
    torch_io::load_params(&mut lstm, fixtures.join("lstm_f32")).unwrap();
    let gru_config = GruConfig {
        input_size: d,
        hidden_size: h,
        ..GruConfig::default()
    };
    let mut gru = Gru::<f64>::new(&gru_config).unwrap();
    torch_io::load_params(&mut gru, fixtures.join("gru_f64")).unwrap();

    let dir = scratch("pytorch-exports");
    torch_io::save_params(&lstm, dir.join("lstm")).unwrap();
    torch_io::save_params(&gru, dir.join("gru")).unwrap();
    for file in FILES {
        let ours = torch_io::read_array::<f32>(dir.join("lstm").join(file)).unwrap();
        let theirs = torch_io::read_array::<f32>(fixtures.join("lstm_f32").join(file)).unwrap();
        assert_eq!(ours, theirs, "lstm {file}");
        let ours = torch_io::read_array::<f64>(dir.join("gru").join(file)).unwrap();
        let theirs = torch_io::read_array::<f64>(fixtures.join("gru_f64").join(file)).unwrap();
        assert_eq!(ours, theirs, "gru {file}");
    }
}

#[test]
fn wrong_shape_names_the_file_and_both_shapes() {
    let dir = scratch("wrong-shape");
    // Saved with H = 6, loaded into a layer with H = 5: weight_ih_l0 is (24, 4) vs (20, 4).
    torch_io::save_params(&Layer::<f64>::counting(4, 4, 6, 0.0), &dir).unwrap();
    let mut layer = Layer::<f64>::zeros(4, 4, 5);
    let err = torch_io::load_params(&mut layer, &dir).unwrap_err();
    assert!(matches!(err, TorchIoError::Shape { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("weight_ih_l0.npy"), "{msg}");
    assert!(
        msg.ends_with("wrong shape: expected [20, 4], found [24, 4]"),
        "{msg}"
    );
    // A failed load leaves the layer untouched.
    assert_eq!(layer, Layer::<f64>::zeros(4, 4, 5));
}

#[test]
fn wrong_dtype_names_the_file_and_both_dtypes() {
    let dir = scratch("wrong-dtype");
    torch_io::save_params(&Layer::<f32>::counting(3, 2, 2, 0.0), &dir).unwrap();
    let mut layer = Layer::<f64>::zeros(3, 2, 2);
    let err = torch_io::load_params(&mut layer, &dir).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("weight_ih_l0.npy"), "{msg}");
    assert!(
        msg.ends_with("wrong dtype: expected float64, found float32 ('<f4')"),
        "{msg}"
    );

    let dir = scratch("wrong-dtype-back");
    torch_io::save_params(&Layer::<f64>::counting(3, 2, 2, 0.0), &dir).unwrap();
    let mut layer = Layer::<f32>::zeros(3, 2, 2);
    let msg = torch_io::load_params(&mut layer, &dir)
        .unwrap_err()
        .to_string();
    assert!(
        msg.ends_with("wrong dtype: expected float32, found float64 ('<f8')"),
        "{msg}"
    );
    assert_eq!(layer, Layer::<f32>::zeros(3, 2, 2));
}

#[test]
fn missing_file_is_named() {
    let dir = scratch("missing");
    torch_io::save_params(&Layer::<f64>::counting(3, 2, 2, 0.0), &dir).unwrap();
    fs::remove_file(dir.join("bias_hh_l0.npy")).unwrap();
    let mut layer = Layer::<f64>::zeros(3, 2, 2);
    let err = torch_io::load_params(&mut layer, &dir).unwrap_err();
    assert!(matches!(err, TorchIoError::Missing { .. }), "{err:?}");
    let expected = format!("{}: file not found", dir.join("bias_hh_l0.npy").display());
    assert_eq!(err.to_string(), expected);
    assert_eq!(layer, Layer::<f64>::zeros(3, 2, 2));

    let msg = torch_io::load_params(&mut layer, dir.join("no-such-dir"))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("no-such-dir"), "{msg}");
    assert!(msg.ends_with("weight_ih_l0.npy: file not found"), "{msg}");
}

#[test]
fn truncated_file_is_corrupt() {
    let dir = scratch("truncated");
    torch_io::save_params(&Layer::<f64>::counting(4, 3, 5, 0.0), &dir).unwrap();
    let path = dir.join("weight_hh_l0.npy");
    let bytes = fs::read(&path).unwrap();

    // Cut inside the data: the header promises 20·5 float64s.
    fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let mut layer = Layer::<f64>::zeros(4, 3, 5);
    let err = torch_io::load_params(&mut layer, &dir).unwrap_err();
    assert!(matches!(err, TorchIoError::Corrupt { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("weight_hh_l0.npy"), "{msg}");
    assert!(
        msg.ends_with("not a valid .npy file: missing 10 bytes of data specified in header"),
        "{msg}"
    );

    // Cut inside the header.
    fs::write(&path, &bytes[..40]).unwrap();
    let msg = torch_io::load_params(&mut layer, &dir)
        .unwrap_err()
        .to_string();
    let expected = "not a valid .npy file: the file ends inside the header (40 bytes)";
    assert!(
        msg.ends_with(&format!("weight_hh_l0.npy: {expected}")),
        "{msg}"
    );

    // Trailing garbage.
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 3]);
    fs::write(&path, &longer).unwrap();
    let msg = torch_io::load_params(&mut layer, &dir)
        .unwrap_err()
        .to_string();
    assert!(msg.ends_with("file had 3 extra bytes before EOF"), "{msg}");

    // Not an .npy file at all.
    fs::write(&path, b"<html>404 Not Found</html>\n").unwrap();
    let err = torch_io::load_params(&mut layer, &dir).unwrap_err();
    assert!(matches!(err, TorchIoError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("weight_hh_l0.npy"), "{err}");

    assert_eq!(layer, Layer::<f64>::zeros(4, 3, 5));
}

/// A header that promises far more data than the file holds is reported, without first
/// trying to allocate the memory it asks for.
#[test]
fn huge_header_shape_is_corrupt_not_an_allocation() {
    let dir = scratch("huge");
    let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }";
    let mut header = dict.to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[0; 16]);
    let path = dir.join("x.npy");
    fs::write(&path, &bytes).unwrap();
    let err = torch_io::read_array::<f64>(&path).unwrap_err();
    assert!(matches!(err, TorchIoError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn non_finite_parameter_is_reported() {
    let dir = scratch("non-finite");
    let mut layer = Layer::<f64>::counting(3, 2, 2, 0.0);
    layer.w_hh[[4, 1]] = f64::NAN;
    torch_io::save_params(&layer, &dir).unwrap();
    let mut target = Layer::<f64>::zeros(3, 2, 2);
    let msg = torch_io::load_params(&mut target, &dir)
        .unwrap_err()
        .to_string();
    assert!(
        msg.ends_with("weight_hh_l0.npy: non-finite value NaN at index [4, 1]"),
        "{msg}"
    );
}

#[test]
fn saving_leaves_no_temporary_files_and_replaces_old_ones() {
    let dir = scratch("atomic");
    torch_io::save_params(&Layer::<f64>::counting(3, 2, 2, 0.0), &dir).unwrap();
    let newer = Layer::<f64>::counting(3, 2, 2, 100.0);
    torch_io::save_params(&newer, &dir).unwrap();
    // Only the four files: every temporary name was renamed into place.
    assert_eq!(file_names(&dir), FILES);
    let mut loaded = Layer::<f64>::zeros(3, 2, 2);
    torch_io::load_params(&mut loaded, &dir).unwrap();
    assert_eq!(loaded, newer);

    // A single array, too.
    let path = dir.join("xs.npy");
    torch_io::write_array(&path, newer.w_ih.view().into_dyn()).unwrap();
    torch_io::write_array(&path, newer.w_hh.view().into_dyn()).unwrap();
    assert_eq!(file_names(&dir).len(), 5);
    let read = torch_io::read_array::<f64>(&path).unwrap();
    assert_eq!(read, newer.w_hh.into_dyn());
}

#[test]
fn failed_save_keeps_the_previous_files() {
    let dir = scratch("failed-save");
    let old = Layer::<f64>::counting(3, 2, 2, 0.0);
    torch_io::save_params(&old, &dir).unwrap();
    // A map without `b_hh`: nothing can be saved, so nothing is touched.
    let partial = [
        ("w_ih", "weight_ih_l0"),
        ("w_hh", "weight_hh_l0"),
        ("b_ih", "bias_ih_l0"),
    ];
    let newer = Layer::<f64>::counting(3, 2, 2, 100.0);
    let err = torch_io::save_params_with(&newer, &dir, &partial).unwrap_err();
    assert_eq!(
        err.to_string(),
        "parameter `b_hh` has no PyTorch name in the name map"
    );
    assert_eq!(file_names(&dir), FILES);
    let mut loaded = Layer::<f64>::zeros(3, 2, 2);
    torch_io::load_params(&mut loaded, &dir).unwrap();
    assert_eq!(loaded, old);
}

#[test]
fn custom_name_map() {
    let dir = scratch("custom-map");
    let map = [
        ("w_ih", "weight_ih_l1"),
        ("w_hh", "weight_hh_l1"),
        ("b_ih", "bias_ih_l1"),
        ("b_hh", "bias_hh_l1"),
    ];
    let saved = Layer::<f32>::counting(3, 2, 4, 1.0);
    torch_io::save_params_with(&saved, &dir, &map).unwrap();
    assert!(dir.join("weight_hh_l1.npy").exists());
    let mut loaded = Layer::<f32>::zeros(3, 2, 4);
    torch_io::load_params_with(&mut loaded, &dir, &map).unwrap();
    assert_eq!(loaded, saved);
}

#[test]
fn read_array_shaped_checks_the_shape() {
    let dir = scratch("shaped");
    let path = dir.join("h0.npy");
    torch_io::write_array(&path, Array2::<f64>::zeros((3, 6)).view().into_dyn()).unwrap();
    assert!(torch_io::read_array_shaped::<f64>(&path, &[3, 6]).is_ok());
    let msg = torch_io::read_array_shaped::<f64>(&path, &[1, 3, 6])
        .unwrap_err()
        .to_string();
    assert!(
        msg.ends_with("h0.npy: wrong shape: expected [1, 3, 6], found [3, 6]"),
        "{msg}"
    );
}

/// A peephole LSTM has weights PyTorch lacks: loading it from a PyTorch export says which.
#[test]
fn parameters_without_a_pytorch_name_are_named() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pytorch");
    let config = LstmConfig {
        input_size: 4,
        hidden_size: 6,
        peepholes: true,
        ..LstmConfig::default()
    };
    let mut lstm = Lstm::<f64>::new(&config).unwrap();
    let before = lstm.clone();
    let err = torch_io::load_params(&mut lstm, fixtures.join("lstm_f64")).unwrap_err();
    assert!(
        matches!(err, TorchIoError::Unmapped { name: "p_i" }),
        "{err:?}"
    );
    assert_eq!(lstm, before);
}
