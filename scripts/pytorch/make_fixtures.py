"""Make the PyTorch parity fixtures in tests/fixtures/pytorch/.

What it makes
-------------
For ``torch.nn.LSTM`` and ``torch.nn.GRU`` (one layer, one direction, ``bias=True``,
``batch_first=False``), each in float64 and in float32, one directory
``tests/fixtures/pytorch/{lstm,gru}_{f64,f32}/`` holding ``.npy`` files:

* the parameters under PyTorch's names: ``weight_ih_l0.npy`` (G*H, D),
  ``weight_hh_l0.npy`` (G*H, H), ``bias_ih_l0.npy`` (G*H,), ``bias_hh_l0.npy`` (G*H,),
  with G = 4 (LSTM, gates i, f, g, o) or 3 (GRU, gates r, z, n);
* the inputs: ``xs.npy`` (T, B, D), ``h0.npy`` (B, H) and, for the LSTM, ``c0.npy``
  (B, H) (PyTorch's (1, B, H) without the layer axis);
* the forward results: ``hs.npy`` (T, B, H), the output; ``h_n.npy`` (B, H) and, for the
  LSTM, ``c_n.npy`` (B, H);
* ``g.npy`` (T, B, H), a fixed random tensor G defining the loss L = sum(G * output);
  L depends on the outputs only (not on c_n), so that dL/dh_t = G[t] is all a backward
  pass needs;
* ``grad/``: the gradients of L with respect to every parameter (same file names as the
  parameters), to ``xs`` (``grad/xs.npy``), ``h0`` (``grad/h0.npy``) and, for the
  LSTM, ``c0`` (``grad/c0.npy``);
* LSTM only: ``g_c.npy`` (B, H), a second fixed random tensor, and ``grad_with_cn/``,
  the same gradients for L' = sum(G * output) + sum(G_c * c_n), a loss that also reads
  the final cell state (checked through ``Lstm::backward``'s ``dc_last``).

A third fixture, ``lstm_2layer_bi_{f64,f32}/``, holds a 2-layer bidirectional
``nn.LSTM`` in the same form (parameter names with ``_l1`` and ``_reverse``; states
``h0``, ``c0``, ``h_n``, ``c_n`` of shape (4, B, H); output and G of shape (T, B, 2H)).

Sizes: T=5, B=3, D=4, H=6. The parameters are PyTorch's default initialisation under
a fixed seed; xs, h0, c0 and G are standard normal draws. The float32 fixtures use the
same numbers rounded to float32, and are computed in float32. oneDNN (mkldnn) is switched
off and one thread is used, so PyTorch runs its reference CPU kernels.

How to regenerate
-----------------
From the repository root (PyTorch is needed only here, never by ``cargo test``)::

    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install torch numpy
    /tmp/torchvenv/bin/python scripts/pytorch/make_fixtures.py

It prints the versions of torch and numpy it used; record them in
tests/fixtures/pytorch/README.md. Then run
``cargo test -p recurrent --test pytorch_parity``.
"""

import os
import shutil
import sys
import warnings

import numpy
import torch

T, B, D, H = 5, 3, 4, 6
SEED = 20240611
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.normpath(os.path.join(ROOT, "tests", "fixtures", "pytorch"))


def save(directory, name, tensor):
    """Save a tensor as directory/name.npy (C order, the tensor's dtype)."""
    path = os.path.join(directory, name + ".npy")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    numpy.save(path, numpy.ascontiguousarray(tensor.detach().cpu().numpy()))


def make(kind, dtype, suffix):
    """Build one fixture directory for kind in {'lstm', 'gru'}."""
    torch.manual_seed(SEED)
    cls = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
    # Draw everything in float64, then cast: the float32 fixtures hold the same numbers.
    layer = cls(input_size=D, hidden_size=H, num_layers=1, bias=True,
                batch_first=False, bidirectional=False).double()
    xs = torch.randn(T, B, D, dtype=torch.float64)
    h0 = torch.randn(1, B, H, dtype=torch.float64)
    c0 = torch.randn(1, B, H, dtype=torch.float64)
    g = torch.randn(T, B, H, dtype=torch.float64)

    g_c = torch.randn(B, H, dtype=torch.float64)

    layer = layer.to(dtype)
    xs, h0, c0, g, g_c = (t.to(dtype) for t in (xs, h0, c0, g, g_c))

    directory = os.path.join(OUT, f"{kind}_{suffix}")
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    for name, p in layer.named_parameters():
        save(directory, name, p)
    save(directory, "xs", xs)
    save(directory, "h0", h0[0])
    save(directory, "g", g)
    if kind == "lstm":
        save(directory, "c0", c0[0])
        save(directory, "g_c", g_c)

    # One backward pass per loss: L = sum(G * output) into grad/, and for the LSTM also
    # L' = L + sum(G_c * c_n) into grad_with_cn/.
    losses = [("grad", False)] + ([("grad_with_cn", True)] if kind == "lstm" else [])
    for grad_dir, with_cn in losses:
        layer.zero_grad()
        xs_, h0_, c0_ = (t.clone().requires_grad_(True) for t in (xs, h0, c0))
        if kind == "lstm":
            out, (h_n, c_n) = layer(xs_, (h0_, c0_))
        else:
            out, h_n = layer(xs_, h0_)
        loss = (g * out).sum()
        if with_cn:
            loss = loss + (g_c * c_n[0]).sum()
        loss.backward()
        for name, p in layer.named_parameters():
            save(directory, os.path.join(grad_dir, name), p.grad)
        save(directory, os.path.join(grad_dir, "xs"), xs_.grad)
        save(directory, os.path.join(grad_dir, "h0"), h0_.grad[0])
        if kind == "lstm":
            save(directory, os.path.join(grad_dir, "c0"), c0_.grad[0])
        if not with_cn:
            save(directory, "hs", out)
            save(directory, "h_n", h_n[0])
            if kind == "lstm":
                save(directory, "c_n", c_n[0])
    return directory


def make_deep_bidirectional(dtype, suffix):
    """Build the fixture of a 2-layer bidirectional nn.LSTM, lstm_2layer_bi_{suffix}/.

    PyTorch names layer k's tensors weight_ih_l{k} and, for the reverse direction,
    weight_ih_l{k}_reverse; layer 1 reads both directions of layer 0, so its weight_ih
    is (4H, 2H). States are (num_layers * 2, B, H), ordered layer by layer, forward
    direction first; the output is (T, B, 2H), forward half first. No dropout (PyTorch
    draws its masks from its own generator, which no other library can reproduce).
    """
    torch.manual_seed(SEED + 1)
    layer = torch.nn.LSTM(input_size=D, hidden_size=H, num_layers=2, bias=True,
                          batch_first=False, bidirectional=True).double()
    xs = torch.randn(T, B, D, dtype=torch.float64)
    h0 = torch.randn(4, B, H, dtype=torch.float64)
    c0 = torch.randn(4, B, H, dtype=torch.float64)
    g = torch.randn(T, B, 2 * H, dtype=torch.float64)
    layer = layer.to(dtype)
    xs, h0, c0, g = (t.to(dtype) for t in (xs, h0, c0, g))

    directory = os.path.join(OUT, f"lstm_2layer_bi_{suffix}")
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    for name, p in layer.named_parameters():
        save(directory, name, p)
    for name, t in (("xs", xs), ("h0", h0), ("c0", c0), ("g", g)):
        save(directory, name, t)
    xs_, h0_, c0_ = (t.clone().requires_grad_(True) for t in (xs, h0, c0))
    out, (h_n, c_n) = layer(xs_, (h0_, c0_))
    (g * out).sum().backward()
    for name, t in (("hs", out), ("h_n", h_n), ("c_n", c_n)):
        save(directory, name, t)
    for name, p in layer.named_parameters():
        save(directory, os.path.join("grad", name), p.grad)
    for name, t in (("xs", xs_), ("h0", h0_), ("c0", c0_)):
        save(directory, os.path.join("grad", name), t.grad)
    return directory


def main():
    torch.set_num_threads(1)
    # Switching oneDNN off warns about an unrelated GPU feature; the warning is noise here.
    warnings.filterwarnings("ignore", message="TF32 acceleration")
    print(f"torch {torch.__version__}, numpy {numpy.__version__}, python {sys.version.split()[0]}")
    with torch.backends.mkldnn.flags(enabled=False):
        for kind in ("lstm", "gru"):
            for dtype, suffix in ((torch.float64, "f64"), (torch.float32, "f32")):
                report(make(kind, dtype, suffix))
        for dtype, suffix in ((torch.float64, "f64"), (torch.float32, "f32")):
            report(make_deep_bidirectional(dtype, suffix))


def report(directory):
    """Print the size of a fixture directory."""
    size = sum(os.path.getsize(os.path.join(d, f))
               for d, _, files in os.walk(directory) for f in files)
    print(f"wrote {os.path.relpath(directory, ROOT)} ({size} bytes)")


if __name__ == "__main__":
    main()
