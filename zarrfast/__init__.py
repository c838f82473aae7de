"""zarrfast: fast chunked, compressed N-dimensional arrays in the Zarr v2 and v3 formats.

Public API::

    import zarrfast as zf
    a = zf.create(shape=(1000, 1000), chunks=(100, 100), dtype="float64",
                  compressor="zstd", storage="filesystem", path="/data/my_array")
    b = zf.open(path="/data/my_array")
"""

from zarrfast import errors
from zarrfast.config import config, set_config
from zarrfast.core.api import (
    consolidate_metadata,
    create,
    empty,
    from_array,
    full,
    group,
    ones,
    open,
    open_array,
    open_group,
    zeros,
)
from zarrfast.core.array import Array
from zarrfast.core.group import Group
from zarrfast.dask import from_dask, to_dask

__version__ = "0.1.0"

__all__ = [
    "Array",
    "Group",
    "__version__",
    "config",
    "consolidate_metadata",
    "create",
    "empty",
    "errors",
    "from_array",
    "from_dask",
    "full",
    "group",
    "ones",
    "open",
    "open_array",
    "open_group",
    "set_config",
    "to_dask",
    "zeros",
]
