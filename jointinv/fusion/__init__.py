"""Learned coupling (Hu et al.): a U-Net fusion network over separately recovered models.

- :func:`train_fusion` trains :class:`FusionNetwork` on a dataset store
  (:mod:`jointinv.dataset`), with checkpoints, resume and early stopping;
- :func:`invert_fusion` (strategy ``fusion``) alternates independent
  inversions and the network for K rounds;
- :func:`shipped_network` loads the small network shipped in ``weights/``
  (joint travel time + DC, the default dataset config).
"""

from .config import DEFAULT_TRAINING_CONFIG, TrainingConfigError, load_training_config
from .network import FusionNetwork, FusionNetworkError, config_hash
from .shipped import shipped_network, shipped_network_path
from .strategy import invert_fusion
from .training import TrainingSummary, train_fusion

__all__ = ["DEFAULT_TRAINING_CONFIG", "FusionNetwork", "FusionNetworkError", "TrainingConfigError",
           "TrainingSummary", "config_hash", "invert_fusion", "load_training_config",
           "shipped_network", "shipped_network_path", "train_fusion"]
