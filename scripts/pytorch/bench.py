"""PyTorch's side of `cargo xtask bench --compare-pytorch`.

The same work as xtask/src/bench/step.rs, in float32 on the CPU: a one-hot input over a
vocabulary of 65 symbols, nn.LSTM or nn.GRU over the whole sequence (time-major, (T, B, D)),
nn.Linear to 65 logits at every step, mean cross-entropy, and for a training step
backward() and torch.optim.SGD. The forward pass alone runs under torch.no_grad(). Each
result is the median step time after warm-up, printed as one JSON object per line, the
format the xtask reads.

Usage: python bench.py --threads N [--quick]
"""

import argparse
import json
import time

import torch
import torch.nn.functional as F

VOCAB = 65
CONFIGS = [(32, 64, 128), (64, 100, 256), (1, 100, 100)]


def median_secs(budget, min_reps, f):
    """Median seconds of f, with repetitions chosen so a row takes about `budget` s."""
    start = time.perf_counter()
    f()
    trial = max(time.perf_counter() - start, 1e-6)
    f()
    reps = min(max(int(budget / trial), min_reps), 60)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def model(cell, h):
    rnn = (torch.nn.LSTM if cell == "LSTM" else torch.nn.GRU)(VOCAB, h)
    return rnn, torch.nn.Linear(h, VOCAB)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    budget, min_reps = (0.3, 3) if args.quick else (1.5, 3)
    for b, t, h in CONFIGS:
        symbols = torch.randint(0, VOCAB, (t + 1, b))
        xs = F.one_hot(symbols[:t], VOCAB).float()  # (T, B, V)
        targets = symbols[1:].reshape(-1)  # (T·B,)
        for cell in ["LSTM", "GRU"]:
            rnn, head = model(cell, h)
            params = list(rnn.parameters()) + list(head.parameters())
            opt = torch.optim.SGD(params, lr=0.01)

            def loss():
                hs, _ = rnn(xs)  # (T, B, H)
                return F.cross_entropy(head(hs).reshape(-1, VOCAB), targets)

            def train():
                opt.zero_grad(set_to_none=True)
                loss().backward()
                opt.step()

            def forward():
                with torch.no_grad():
                    loss()

            for mode, f in [("train", train), ("forward", forward)]:
                record = {
                    "kind": "run", "impl": "pytorch", "cell": cell, "mode": mode,
                    "b": b, "t": t, "h": h, "seconds": median_secs(budget, min_reps, f),
                    "torch": torch.__version__,
                }
                print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
