"""The checkpoint a run resumes from, trusted only if it loads, and the digest of a run's first weights."""

import hashlib
import sys
from pathlib import Path

import torch
from lightning.pytorch.utilities.rank_zero import rank_zero_only


def checkpoint_loads(path: Path) -> bool:
    """Whether a run's checkpoint loads as plain tensors and containers (torch's weights_only loader, as the
    resuming Trainer will load it). One that does not (cut short by a kill, or holding anything else) is
    deleted, and the run starts over rather than failing the sweep. Every DDP rank reads the same bytes, so
    every rank reaches the same answer."""
    try:
        torch.load(path, map_location="cpu", weights_only=True)
        return True
    except FileNotFoundError:  # another rank already found it unusable and deleted it
        return False
    except Exception as error:  # torch raises several types for a bad file; every one means "do not resume"
        if rank_zero_only.rank == 0:
            print(f"{path} cannot be loaded ({type(error).__name__}); starting this run over", file=sys.stderr)
        path.unlink(missing_ok=True)
        return False


def weights_checksum(module: torch.nn.Module) -> str:
    """A digest of the initial weights: equal digests prove runs started from the same point."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]
