"""What the MTL part costs in generating the embedded corpus (docs/mtl.md): the whole
``synthesize`` timed once, and inside it ``write_mtl`` (the s-Aff-Wild2 rows, files and test
image links); prints both and the share. OUT must not exist yet.

    python benchmarks/synth_mtl_share.py OUT 0 112 8     # the embedded corpus (seed 0)
    python benchmarks/synth_mtl_share.py OUT 3 8 12      # a tiny one
"""

import sys
import time
from pathlib import Path

import harness.data.synth.generate as generate

spent: list[float] = []
_write_mtl = generate.write_mtl


def _timed(*args, **kwargs):
    start = time.perf_counter()
    result = _write_mtl(*args, **kwargs)
    spent.append(time.perf_counter() - start)
    return result


if __name__ == "__main__":
    out, seed, videos, seconds = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), \
        float(sys.argv[4])
    generate.write_mtl = _timed
    start = time.perf_counter()
    generate.synthesize(out, seed=seed, videos=videos, seconds=seconds, progress=False)
    total = time.perf_counter() - start
    print(f"synthesize {total:.1f} s, of which write_mtl {spent[0]:.2f} s "
          f"({100 * spent[0] / total:.1f} %)")
