"""DDP plumbing: who am I (``torchrun`` env vars), start N local processes, shard loaders.

Two ways in: ``torchrun`` (or any launcher) sets ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/
``MASTER_ADDR``/``MASTER_PORT`` and every process runs the user's script; or the trainer is
asked for ``devices=N`` in a single process and :func:`spawn` starts N workers (the
``spawn`` start method: safe with CUDA and threads, at the price of a fresh interpreter
per worker). gloo on CPU, nccl on CUDA. Multi-node is the launcher's job.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DataLoader, DistributedSampler, IterableDataset, RandomSampler

from fanlog.ports import free_port


@dataclass(frozen=True)
class World:
    """This process's place in the job."""

    rank: int = 0
    local_rank: int = 0
    size: int = 1

    @property
    def is_zero(self) -> bool:
        return self.rank == 0


def world_from_env() -> World | None:
    """The job described by a launcher's environment variables (None when not launched)."""
    if "WORLD_SIZE" not in os.environ or "RANK" not in os.environ:
        return None
    return World(int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", 0)),
                 int(os.environ["WORLD_SIZE"]))


def init(world: World, device: torch.device) -> bool:
    """Join the process group (env:// rendezvous); True when this call created it."""
    if world.size <= 1 or dist.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend, rank=world.rank, world_size=world.size)
    return True


def spawn(fn: Callable[..., Any], nprocs: int, *args: Any, start_method: str = "spawn") -> Any:
    """Run ``fn(*args)`` in ``nprocs`` processes forming one job; returns what rank 0
    returned. A worker's exception is re-raised here with its traceback. ``"fork"`` starts
    in a fraction of the time (no fresh interpreter) but is unsafe with CUDA or threads."""
    with tempfile.TemporaryDirectory(prefix="fanlog-spawn-") as tmp:
        result = Path(tmp) / "rank0.pt"
        mp.start_processes(_entry, args=(fn, nprocs, free_port(), str(result), args),
                           nprocs=nprocs, start_method=start_method)
        return torch.load(result, weights_only=False) if result.exists() else None


def _entry(rank: int, fn: Callable[..., Any], nprocs: int, port: int, result: str,
           args: tuple) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE=str(nprocs))
    out = fn(*args)
    if rank == 0:
        torch.save(out, result)


def shard(loader: Any, world: World) -> Any:
    """The same loader over this rank's share of the data (Lightning's sampler swap).
    Loaders with a DistributedSampler, a custom batch sampler or an IterableDataset, and
    iterables that are not DataLoaders, are left alone (they shard themselves)."""
    if world.size <= 1 or not isinstance(loader, DataLoader):
        return loader
    if isinstance(loader.sampler, DistributedSampler) or isinstance(
            loader.dataset, IterableDataset) or loader.batch_size is None:
        return loader
    sampler = DistributedSampler(loader.dataset, num_replicas=world.size, rank=world.rank,
                                 shuffle=isinstance(loader.sampler, RandomSampler))
    return DataLoader(loader.dataset, batch_size=loader.batch_size, sampler=sampler,
                      num_workers=loader.num_workers, collate_fn=loader.collate_fn,
                      pin_memory=loader.pin_memory, drop_last=loader.drop_last,
                      timeout=loader.timeout, worker_init_fn=loader.worker_init_fn,
                      persistent_workers=loader.persistent_workers)


def to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor in a (nested) batch to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        moved = [to_device(v, device) for v in batch]
        return type(batch)(*moved) if hasattr(batch, "_fields") else type(batch)(moved)
    return batch
