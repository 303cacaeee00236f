"""The 2D pair's forward pass on one 256² window: in one network of grouped convolutions
(``MirroredPair``, as the engine runs it), as two passes one after the other, and one
network's batch of two (the window and its mirror image), interleaved in one process so
that a machine whose speed drifts affects all three alike.

    python benchmarks/pair_forward.py --threads 2 --repeats 40
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from napari_iis.engines.network.engine import WEIGHTS_2D, WEIGHTS_2D_MIRROR, load_model, packaged_weights  # noqa: E402
from napari_iis.engines.network.model import MirroredPair  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    channels_last = torch.channels_last
    first, second = (load_model(packaged_weights(name)).to(memory_format=channels_last)
                     for name in (WEIGHTS_2D, WEIGHTS_2D_MIRROR))
    started = time.perf_counter()
    pair = MirroredPair(first, second).eval().to(memory_format=channels_last)
    built = time.perf_counter() - started
    rng = np.random.default_rng(0)
    image = torch.from_numpy(rng.random((1, 3, 256, 256), dtype=np.float32)).contiguous(memory_format=channels_last)
    prompts = torch.from_numpy((rng.random((1, 3, 256, 256)) > 0.5).astype(np.float32)).contiguous(
        memory_format=channels_last)
    runs = {
        "pair in one pass": lambda: pair(image, prompts),
        "pair in two passes": lambda: (first(image, prompts), second(image.flip(-1), prompts.flip(-1))),
        "one network, batch of two": lambda: first(torch.cat([image, image.flip(-1)]),
                                                   torch.cat([prompts, prompts.flip(-1)])),
    }
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    with torch.inference_mode():
        for run in runs.values():
            run()
        for _ in range(args.repeats):
            for name, run in runs.items():
                started = time.perf_counter()
                run()
                seconds[name].append(time.perf_counter() - started)
    print(f"MirroredPair built in {built * 1000:.0f} ms")
    for name, values in seconds.items():
        low, median, high = np.percentile(values, [25, 50, 75]) * 1000
        print(f"{name}: median {median:.1f} ms (quartiles {low:.1f}-{high:.1f}) over {args.repeats}")


if __name__ == "__main__":
    main()
