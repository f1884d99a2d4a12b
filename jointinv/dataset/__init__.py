"""Training data for learned coupling: independent inversions of synthetic models.

For each sample ``i`` of a config (:mod:`.config`): true models from a
shared-structure family (``jointinv.synthetic.draw_sample`` or a callable of
your own), noisy data from each physics, the independent inversion of each,
and coverage maps — stored as ``(inputs, targets)`` pairs on the common grid
(:mod:`.store`, a Zarr directory with one chunk per sample), built in
parallel with Dask (:mod:`.executors`) and read by
:class:`JointInversionDataset`, as in Hu et al.'s DL-enhanced joint inversion
(the network maps separately recovered models to the true ones).

- :func:`build_dataset` — build, resume or extend a store.
- :class:`JointInversionDataset` — a ``torch.utils.data.Dataset`` over a store.
- CLI: ``jointinv dataset build CONFIG.yaml --output STORE`` (:mod:`.cli`).
"""

from .builder import BuildSummary, build_dataset
from .config import DatasetConfigError, load_dataset_config, validate_dataset_config
from .store import DatasetStore, DatasetStoreError
from .torch_dataset import JointInversionDataset

__all__ = ["BuildSummary", "DatasetConfigError", "DatasetStore", "DatasetStoreError",
           "JointInversionDataset", "build_dataset", "load_dataset_config",
           "validate_dataset_config"]
