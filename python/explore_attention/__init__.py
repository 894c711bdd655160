"""explore-attention for Python: the C++ library's attention mechanisms, fused kernel and models.

    import numpy as np, explore_attention as ea
    q = k = v = np.random.randn(1, 4, 16, 32).astype(np.float32)
    out = ea.scaled_dot_product_attention(q, k, v, is_causal=True)   # an ea.Tensor; np.asarray(out) is a view
    gpt = ea.GPT.load(ea.GPT.default_dir())
    print(gpt.generate("Call me Ishmael.", max_new_tokens=20, temperature=0))

Arrays go in as numpy arrays, torch tensors or ea.Tensor (float32 C-contiguous numpy arrays without a copy);
tensors come out as ea.Tensor, which numpy reads without a copy. Names and argument order follow PyTorch.
Errors are ValueError / TypeError with the library's message, naming the argument.
"""
from ._core import *  # noqa: F401,F403
from ._core import __version__  # noqa: F401
from . import _core
from . import show  # noqa: F401  (inline explorer views for notebooks)
from . import train  # noqa: F401  (training loops with a Python callback per step)

if _core._blas_kernel_for_this_cpu() is not None:  # OpenBLAS fell back to generic kernels on an unknown CPU
    import warnings

    warnings.warn("OpenBLAS does not know this CPU and chose its generic Prescott kernels (matrix products about 5x "
                  "slower); start Python with OPENBLAS_CORETYPE=%s set to use the CPU's own kernels"
                  % _core._blas_kernel_for_this_cpu(), RuntimeWarning, stacklevel=2)

__all__ = [name for name in dir(_core) if not name.startswith("_")] + ["show", "train"]
