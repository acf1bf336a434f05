//! Reference solution of exercise 11: clipping a list of gradient tensors by their global
//! L2 norm (Pascanu, Mikolov & Bengio 2013), as `recurrent::optim::clip_grad_norm` does.

use ndarray::ArrayD;

// ANCHOR: clip_grad_norm
/// Rescales all of `grads` together so that their global L2 norm is at most `max_norm`;
/// returns the global norm before clipping.
pub fn clip_grad_norm(grads: &mut [ArrayD<f64>], max_norm: f64) -> f64 {
    // One vector made of every entry of every tensor: its length is the step's length.
    let norm = grads
        .iter()
        .flat_map(|g| g.iter())
        .map(|&x| x * x)
        .sum::<f64>()
        .sqrt();
    if norm > max_norm {
        // norm > max_norm > 0, so the division is safe; one factor keeps the direction.
        let scale = max_norm / norm;
        for g in grads.iter_mut() {
            g.mapv_inplace(|x| x * scale);
        }
    }
    norm
}
// ANCHOR_END: clip_grad_norm
