"""Print the precision settings of the other kind of machine, for `make test`'s second pass.

The suite runs first at this machine's own precision (bf16 models and torch embeddings on a
CPU with native bf16, fp32 and ONNX elsewhere); the tests marked `precision` then run again
with the other kind's settings forced, so a machine of either kind catches what the other
would. Prints e.g. `LADDER_DTYPE=fp32 LADDER_EMBED_BACKEND=onnx`.
"""

from __future__ import annotations

from core.hardware import cpu_supports_bf16

BF16 = "LADDER_DTYPE=bf16 LADDER_EMBED_BACKEND=torch"
FP32 = "LADDER_DTYPE=fp32 LADDER_EMBED_BACKEND=onnx"

if __name__ == "__main__":
    print(FP32 if cpu_supports_bf16() else BF16)
