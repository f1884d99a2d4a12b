"""Train the fusion network on a dataset store (Hu et al.: recovered models -> true models).

>>> summary = train_fusion("train.yaml", "tt_dc.zarr", "runs/fusion")   # doctest: +SKIP

``OUTPUT/`` receives, atomically and after every epoch: ``checkpoint.pt``
(network, optimizer, RNG and early-stopping state, history: what ``resume``
needs), ``network.pt`` (the best network so far by validation loss: the file
the ``fusion`` strategy loads), ``history.csv`` and ``learning_curve.png``.

Everything random is a function of ``config["seed"]``: the weights' start,
the train/validation split and, per epoch, the batch order and flips. An
interrupted run resumed with ``resume=True`` therefore continues the loss
curve with the same numbers as an uninterrupted one (on the same device and
torch thread count).
"""

from __future__ import annotations

import csv
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..grid import Grid
from .config import load_training_config
from .losses import batched_cross_gradient, weighted_mse
from .network import FusionNetwork, FusionNetworkError, config_hash

__all__ = ["train_fusion", "TrainingSummary", "default_device", "load_training_pairs",
           "plot_learning_curve"]

_UNITS = {"velocity": "m/s", "log10 resistivity": "log10 ohm m"}


@dataclass
class TrainingSummary:
    """What :func:`train_fusion` did.

    Attributes
    ----------
    output : pathlib.Path
    network : pathlib.Path
        The best network (``OUTPUT/network.pt``).
    epochs : int
        Epochs in the history (all runs together).
    best_epoch : int
    best_validation_loss : float
    stopped_early : bool
    n_train, n_validation : int
    elapsed : float
        Seconds spent by this call.
    history : list of dict
    """

    output: Path
    network: Path
    epochs: int
    best_epoch: int
    best_validation_loss: float
    stopped_early: bool
    n_train: int
    n_validation: int
    elapsed: float
    history: list


def default_device() -> torch.device:
    """The current accelerator when torch has one, else the CPU."""
    accelerator = getattr(torch, "accelerator", None)
    if accelerator is not None and accelerator.is_available():
        return accelerator.current_accelerator()
    return torch.device("cpu")


def load_training_pairs(store, config: dict) -> dict:
    """Raw (unnormalised) inputs and targets of the samples the config uses, and the split.

    Returns
    -------
    dict
        ``inputs`` ``(N, P [+ P], nz, nx)``, ``targets`` ``(N, P, nz, nx)``
        float32 tensors, ``indices`` (store indices), ``train`` and
        ``validation`` (positions), ``keys``, ``properties``, ``ranges`` (the
        config's property ranges), ``grid``,
        ``coverage_probes`` and ``store`` (a description).

    Raises
    ------
    ValueError
        A store with missing samples when ``samples`` is not set (all are
        needed), or fewer complete samples than ``samples``.
    """
    from ..dataset import JointInversionDataset

    limit = config["samples"]
    dataset = JointInversionDataset(store, normalise=False, coverage=config["coverage"],
                                    allow_missing=limit is not None)
    if limit is not None and len(dataset) < limit:
        raise ValueError(f"samples = {limit} but dataset store {dataset.store.path} has only "
                         f"{len(dataset)} complete samples")
    count = len(dataset) if limit is None else limit
    if count < 2:
        raise ValueError(f"training needs at least 2 samples (one for validation), "
                         f"store {dataset.store.path} has {count}")
    items = [dataset[i] for i in range(count)]
    inputs = torch.stack([item[0] for item in items])
    targets = torch.stack([item[1] for item in items])
    n_validation = min(count - 1, max(1, round(config["validation_fraction"] * count)))
    order = np.random.default_rng([config["seed"], 7]).permutation(count)
    store_config = dataset.store.config
    grid = {k: store_config["grid"][k] for k in ("nx", "nz", "dx", "dz")}
    keys = dataset.keys
    properties = [store_config["properties"][k]["property"] for k in keys]
    ranges = [tuple(store_config["properties"][k]["range"]) for k in keys]
    return {"inputs": inputs, "targets": targets, "indices": dataset.indices[:count],
            "train": np.sort(order[n_validation:]), "validation": np.sort(order[:n_validation]),
            "keys": keys, "properties": properties, "ranges": ranges, "grid": grid,
            "coverage_probes": {k: store_config["physics"][k].get("coverage_probes", 8)
                                for k in keys},
            "store": {"path": str(dataset.store.path), "config_hash": config_hash(store_config),
                      "n_complete": len(dataset)}}


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    entropy = np.random.SeedSequence([seed, epoch, 11]).generate_state(1)[0]
    return torch.Generator().manual_seed(int(entropy))


def _evaluate(network, inputs, targets, weights, config, grid, batch_size, consistency=None,
              positions=None):
    """``(loss, MSE per property, mean chi^2/N per property or None)`` of a held-out set."""
    network.eval()
    squared = torch.zeros(targets.shape[1], dtype=torch.float64)
    misfit = torch.zeros(targets.shape[1], dtype=torch.float64)
    cross, data_term, count = 0.0, 0.0, 0
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            x, y = inputs[start:start + batch_size], targets[start:start + batch_size]
            out = network(x)
            squared += ((out - y) ** 2).sum(dim=(0, 2, 3)).double().cpu()
            if config["loss"]["cross_gradient"]:
                eps = config["loss"]["cross_gradient_eps"]
                cross += float(batched_cross_gradient(out, grid, eps)) * len(x)
            if consistency is not None:
                term, misfits = consistency.loss(positions[start:start + batch_size],
                                                 network.denormalise(out))
                data_term += float(term) * len(x)
                misfit += misfits.sum(dim=0).double().cpu()
            count += len(x)
    mse = squared / (count * targets.shape[2] * targets.shape[3])
    loss = float((weights.double() * mse).sum() / weights.double().sum())
    loss += config["loss"]["cross_gradient"] * cross / count
    if consistency is None:
        return loss, mse, None
    return loss + config["loss"]["data_consistency"] * data_term / count, mse, misfit / count


def _train_epoch(network, optimizer, inputs, targets, weights, config, grid, epoch,
                 consistency=None, positions=None):
    network.train()
    generator = _epoch_generator(config["seed"], epoch)
    order = torch.randperm(len(inputs), generator=generator)
    flips = torch.rand(len(inputs), generator=generator) < 0.5
    total, cross_total = 0.0, 0.0
    for start in range(0, len(order), config["batch_size"]):
        batch = order[start:start + config["batch_size"]]
        x, y = inputs[batch], targets[batch]
        if config["flip"]:
            flip = flips[batch].to(x.device).reshape(-1, 1, 1, 1)
            x = torch.where(flip, x.flip(-1), x)
            y = torch.where(flip, y.flip(-1), y)
        out = network(x)
        loss, _ = weighted_mse(out, y, weights)
        if config["loss"]["cross_gradient"]:
            cross = batched_cross_gradient(out, grid, config["loss"]["cross_gradient_eps"])
            loss = loss + config["loss"]["cross_gradient"] * cross
            cross_total += float(cross.detach()) * len(batch)
        if consistency is not None:
            # the physics see the output in the survey's own frame: undo the flips
            unflipped = torch.where(flip, out.flip(-1), out) if config["flip"] else out
            term, _ = consistency.loss(positions[batch.numpy()], network.denormalise(unflipped))
            loss = loss + config["loss"]["data_consistency"] * term
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(batch)
    return total / len(order), cross_total / len(order)


def _save_atomic(content: dict, path: Path) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    torch.save(content, temporary)
    os.replace(temporary, path)


def _write_history(history: list, path: Path) -> None:
    columns = list(dict.fromkeys(c for row in history for c in row))
    temporary = path.with_name(f".{path.name}.partial")
    with open(temporary, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        writer.writerows(history)
    os.replace(temporary, path)


def plot_learning_curve(history: list, path, keys=()) -> Path:
    """Training and validation loss per epoch (log scale) and validation RMSE per property."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    epochs = [row["epoch"] for row in history]
    figure, axes = plt.subplots(1, 1 + len(keys), figsize=(4.5 * (1 + len(keys)), 3.5),
                                squeeze=False)
    axes = axes[0]
    axes[0].semilogy(epochs, [row["train_loss"] for row in history], label="training")
    axes[0].semilogy(epochs, [row["validation_loss"] for row in history], label="validation")
    axes[0].set(xlabel="epoch", ylabel="loss (normalised units)", title="fusion network")
    axes[0].legend()
    for axis, key in zip(axes[1:], keys):
        axis.plot(epochs, [row[f"validation_rmse[{key}]"] for row in history], label="network")
        axis.plot(epochs, [row[f"input_rmse[{key}]"] for row in history], "--",
                  label="independent (input)")
        axis.set(xlabel="epoch", ylabel="RMSE", title=f"validation: {key}")
        axis.legend()
    figure.tight_layout()
    temporary = path.with_name(f".{path.stem}.partial.png")
    figure.savefig(temporary, dpi=100)
    plt.close(figure)
    os.replace(temporary, path)
    return path


def train_fusion(config, store, output, resume: bool = False, device=None,
                 progress: bool = True, max_epochs: int | None = None) -> TrainingSummary:
    """Train the fusion U-Net on ``store`` and write checkpoints to ``output``.

    Parameters
    ----------
    config : dict, path or None
        Training config (:mod:`jointinv.fusion.config`; None: defaults).
    store : path
        Dataset store of :func:`jointinv.dataset.build_dataset`.
    output : path
        Folder for checkpoints, the network, the history and the learning curve.
    resume : bool
        Continue from ``OUTPUT/checkpoint.pt``, which must come from the same
        config and samples. Without it an existing checkpoint is refused.
    device : str or torch.device, optional
        Default: :func:`default_device`.
    progress : bool
        One line per epoch on stdout.
    max_epochs : int, optional
        Stop this call after so many epochs in total (the config's ``epochs``
        still counts for the finished run): to stage a run in pieces.

    Raises
    ------
    TrainingConfigError, ValueError, FileExistsError
        Bad config, unusable store, or a checkpoint without ``resume`` (or one
        from another config with it) -- all before training starts.
    """
    started = time.perf_counter()
    config = load_training_config(config)
    output = Path(output)
    checkpoint_path = output / "checkpoint.pt"
    if checkpoint_path.exists() and not resume:
        raise FileExistsError(f"{checkpoint_path} exists: pass resume=True (--resume) to "
                              f"continue it, or choose another output")
    if resume and not checkpoint_path.exists():
        raise FileNotFoundError(f"resume: {checkpoint_path} does not exist")
    device = torch.device(device) if device is not None else default_device()
    pairs = load_training_pairs(store, config)
    keys = pairs["keys"]
    unknown = sorted(set(config["loss"]["weights"]) - set(keys))
    if unknown:
        raise ValueError(f"loss.weights names {unknown}, not physics of the store {keys}")
    n = len(keys)
    train, validation = pairs["train"], pairs["validation"]
    train_targets = pairs["targets"][train]
    offset = train_targets.mean(dim=(0, 2, 3)).double()
    scale = train_targets.std(dim=(0, 2, 3)).double().clamp_min(1e-12)
    torch.manual_seed(config["seed"])
    network = FusionNetwork(keys, pairs["properties"],
                            [_UNITS.get(p, "") for p in pairs["properties"]],
                            offset.tolist(), scale.tolist(), pairs["grid"],
                            coverage=config["coverage"], residual=config["residual"],
                            unet=config["network"], config=config,
                            coverage_probes=pairs["coverage_probes"],
                            info={"store": pairs["store"], "n_samples": len(pairs["indices"]),
                                  "samples_hash": config_hash(pairs["indices"])},
                            input_range=pairs["ranges"] if config["clamp_inputs"] else None)
    network.to(device)

    def prepare(positions):
        x = pairs["inputs"][positions].clone()
        x[:, :n] = network.normalise(network.clamp_inputs(x[:, :n]))
        return x.to(device), network.normalise(pairs["targets"][positions]).to(device)

    x_train, y_train = prepare(train)
    x_valid, y_valid = prepare(validation)
    consistency = None
    if config["loss"].get("data_consistency"):
        from .data_consistency import DataConsistency

        consistency = DataConsistency(store, pairs["indices"], keys,
                                      config["loss"]["data_consistency_linearised"],
                                      config["loss"].get("data_consistency_physics"))
    weights = torch.tensor([config["loss"]["weights"].get(k, 1.0) for k in keys],
                           dtype=torch.float32, device=device)
    grid = Grid(**pairs["grid"])
    optimizer = torch.optim.Adam(network.parameters(), lr=config["learning_rate"],
                                 weight_decay=config["weight_decay"])
    scale_cpu = network.scale.flatten().double().cpu()
    # RMSE of the independent inversions (the network's input, clamped), for comparison
    input_rmse = ((x_valid[:, :n] - y_valid) ** 2).mean(dim=(0, 2, 3)).double().cpu().sqrt()
    input_rmse = input_rmse * scale_cpu
    history, best = [], {"loss": float("inf"), "epoch": -1, "waited": 0}
    stopped = False
    if resume:
        saved = torch.load(checkpoint_path, map_location=device, weights_only=False)
        if saved.get("config_hash") != config_hash(config) or \
                saved["info"].get("samples_hash") != network.info["samples_hash"]:
            raise ValueError(f"{checkpoint_path} comes from another config or other samples "
                             f"(config hash {saved.get('config_hash')}, this one "
                             f"{config_hash(config)}); resume it with the same config and store")
        network.load_state_dict(saved["state_dict"])
        optimizer.load_state_dict(saved["optimizer"])
        torch.set_rng_state(saved["rng_state"])
        history, best, stopped = saved["history"], saved["best"], saved["stopped"]
    output.mkdir(parents=True, exist_ok=True)
    last = config["epochs"] if max_epochs is None else min(config["epochs"], max_epochs)
    for epoch in range(len(history), last):
        if stopped:
            break
        tick = time.perf_counter()
        train_loss, train_cross = _train_epoch(network, optimizer, x_train, y_train, weights,
                                               config, grid, epoch, consistency, train)
        valid_loss, valid_mse, valid_misfit = _evaluate(
            network, x_valid, y_valid, weights, config, grid, config["batch_size"],
            consistency, validation)
        row = {"epoch": epoch + 1, "train_loss": train_loss, "validation_loss": valid_loss}
        if config["loss"]["cross_gradient"]:
            row["train_cross_gradient"] = train_cross
        for p, key in enumerate(keys):
            row[f"validation_rmse[{key}]"] = float(valid_mse[p].sqrt() * scale_cpu[p])
            row[f"input_rmse[{key}]"] = float(input_rmse[p])
            if valid_misfit is not None and key in consistency.covered:
                row[f"validation_chi2[{key}]"] = float(valid_misfit[p])
        row["seconds"] = time.perf_counter() - tick
        history.append(row)
        improved = valid_loss < best["loss"] - config["early_stopping"]["min_delta"]
        if improved:
            best = {"loss": valid_loss, "epoch": epoch + 1, "waited": 0}
            network.save(output / "network.pt", extra={"info": {
                **network.info, "epoch": epoch + 1, "validation_loss": valid_loss}})
        else:
            best["waited"] += 1
        stopped = best["waited"] >= config["early_stopping"]["patience"]
        _save_atomic({**network.description(),
                      "state_dict": {k: v.detach().cpu() for k, v in
                                     network.state_dict().items()},
                      "optimizer": optimizer.state_dict(), "rng_state": torch.get_rng_state(),
                      "history": history, "best": best, "stopped": stopped}, checkpoint_path)
        _write_history(history, output / "history.csv")
        if progress:
            rmse = ", ".join(f"{k} {row[f'validation_rmse[{k}]']:.4g} "
                             f"(input {row[f'input_rmse[{k}]']:.4g})" for k in keys)
            print(f"epoch {epoch + 1}/{config['epochs']}: train {train_loss:.4g}, validation "
                  f"{valid_loss:.4g}; validation RMSE {rmse}; {row['seconds']:.1f} s"
                  + ("" if improved else f" (best {best['epoch']})"), flush=True)
    if not history:
        raise FusionNetworkError("no epoch ran")
    plot_learning_curve(history, output / "learning_curve.png", keys)
    return TrainingSummary(output=output, network=output / "network.pt", epochs=len(history),
                           best_epoch=best["epoch"], best_validation_loss=best["loss"],
                           stopped_early=stopped, n_train=len(train),
                           n_validation=len(validation),
                           elapsed=time.perf_counter() - started, history=history)
