"""Which process trains a run: a typed decision taken under the run claims (run, resume, skip or leave), and
the result saved only while the claim is still this process's."""

import shutil
from dataclasses import dataclass, field
from enum import Enum

from optlab.records.result_files import is_damaged, read_result, set_aside
from optlab.run.paths import checkpoint_path
from optlab.sweep.config import RunSpec, SweepConfig
from optlab.sweep.folder import result_path
from optlab.sweep.ranks import say
from optlab.sweep.results import write_json_atomic
from optlab.sweep.run_claims import RunClaim, RunClaims


class Action(Enum):
    RUN = "run"  # claimed, trained from the start
    RESUME = "resume"  # claimed, trained on from its checkpoint
    SKIP = "skip"  # finished by another process meanwhile
    LEAVE = "leave"  # held by another live process


@dataclass(frozen=True)
class Decision:
    """What this process does with one run; `claim` is held for RUN and RESUME, and released by the caller."""

    action: Action
    run_id: str
    claim: RunClaim | None = field(default=None, compare=False, repr=False)
    holder: str = ""  # LEAVE: who holds the run
    taken_over_from: str = ""  # RUN, RESUME: the gone holder whose claim this one replaced, if any

    @property
    def trains(self) -> bool:
        return self.action in (Action.RUN, Action.RESUME)

    def __str__(self) -> str:
        """The console line that announces the decision."""
        if self.action is Action.SKIP:
            return f"skip {self.run_id}: finished by another process"
        if self.action is Action.LEAVE:
            return f"leave {self.run_id}: claimed by {self.holder}"
        taken = f" (taken over from {self.taken_over_from}, gone)" if self.taken_over_from else ""
        return f"{self.action.value} {self.run_id}{taken}"


def decide(config: SweepConfig, spec: RunSpec, claims: RunClaims) -> Decision:
    """Claim a run for this process, or say why not: finished meanwhile, or held by a live process. A damaged
    result file is set aside under the claim (no other process writes that run's result then)."""
    path = result_path(config.sweep_dir, spec)
    if read_result(path) is not None:
        return Decision(Action.SKIP, spec.run_id)
    claim = claims.take(spec.run_id)
    if claim is None:
        holder = claims.holder(spec.run_id)
        return Decision(Action.LEAVE, spec.run_id, holder=holder.describe() if holder else "another process")
    if read_result(path) is not None:  # finished and released just before this claim
        claim.release()
        return Decision(Action.SKIP, spec.run_id)
    if is_damaged(path):
        kept = set_aside(path)
        say(f"results/{path.name} is damaged: kept as {kept.name}, training it again")
    replaced = claim.replaced
    if replaced is not None and not replaced.readable:
        say(f"claims/{claim.path.name} is not a claim (unreadable); taking it over")
    action = Action.RESUME if checkpoint_path(config.sweep_dir, spec).is_file() else Action.RUN
    taken = replaced.describe() if replaced is not None and replaced.readable else ""
    return Decision(action, spec.run_id, claim, taken_over_from=taken)


def take_run(config: SweepConfig, spec: RunSpec, claims: RunClaims) -> tuple[RunClaim | None, str]:
    """The decision as (the claim if this process trains the run, the line announcing it)."""
    decision = decide(config, spec, claims)
    return decision.claim, str(decision)


def save_result(config: SweepConfig, spec: RunSpec, claim: RunClaim, result: dict | None) -> None:
    """Write a run's result while this process still holds its claim."""
    if result is None:
        return
    if not claim.refresh():  # this process was judged gone and the run handed on: the result is the new holder's
        say(f"lost the claim on {spec.run_id} to another process; its result is left to that process")
        return
    write_json_atomic(result_path(config.sweep_dir, spec), result)
    if not config.keep_checkpoints:  # only once the result is safe: a run stopped before this resumes, not restarts
        shutil.rmtree(checkpoint_path(config.sweep_dir, spec).parent, ignore_errors=True)
