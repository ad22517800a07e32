"""The report's verdicts as one family: every part that judges (pairwise table, claims, Findings) adds its
comparisons, the family is corrected once, and every part then reads its verdict and matching interval back."""

import dataclasses
from collections.abc import Hashable
from dataclasses import dataclass

from optlab.report.stats import FWER, LEVEL, Correction, Paired, correct, p_values

TEST_ACC = "test_acc"


def test_acc_key(a: str, b: str) -> tuple[str, str, str]:
    """The key of the paired test-accuracy comparison of two optimizers (the pairwise table's, reused by others)."""
    return TEST_ACC, a, b


@dataclass(frozen=True)
class Verdict:
    """One comparison after the report's correction: its adjusted p and the interval that agrees with it."""

    pairs: Paired
    adjusted_p: float | None
    confidence: float | None
    picked_from: int = 1

    @property
    def clear(self) -> bool:
        return self.adjusted_p is not None and self.adjusted_p < LEVEL

    @property
    def interval(self) -> tuple[float, float] | None:
        """Excludes 0 exactly when the comparison is clear (see stats.Correction)."""
        return None if self.confidence is None else self.pairs.interval_at(self.confidence)

    def flipped(self) -> "Verdict":
        """The same verdict read the other way round (B minus A)."""
        # replace keeps the kind of comparison: a censored one (target.TimesSaved) stays without an interval.
        reversed_pairs = dataclasses.replace(self.pairs, differences=tuple(-d for d in self.pairs.differences))
        return Verdict(reversed_pairs, self.adjusted_p, self.confidence, self.picked_from)


class Family:
    """Comparisons gathered under keys (kind, a, b), corrected together by `close`."""

    def __init__(self) -> None:
        self._members: dict[Hashable, tuple[Paired, int]] = {}
        self.correction: Correction | None = None
        self._verdicts: dict[Hashable, Verdict] = {}

    @property
    def closed(self) -> bool:
        return self.correction is not None

    def _reversed(self, key: Hashable) -> Hashable | None:
        if isinstance(key, tuple) and len(key) == 3:
            return key[0], key[2], key[1]
        return None

    def judge(self, key: Hashable, pairs: Paired, picked_from: int = 1) -> Verdict | None:
        """Before `close`: add the comparison (a key seen before, either way round, is the same comparison) and
        return None. After: its verdict."""
        if not self.closed:
            if key not in self._members and self._reversed(key) not in self._members:
                self._members[key] = (pairs, picked_from)
            return None
        if key in self._verdicts:
            return self._verdicts[key]
        return self._verdicts[self._reversed(key)].flipped()

    def close(self, control: str = FWER, level: float = LEVEL) -> Correction:
        members = list(self._members.items())
        self.correction = correct(p_values([pairs for _, (pairs, _) in members]), control, level,
                                  [picked for _, (_, picked) in members])
        for index, (key, (pairs, picked)) in enumerate(members):
            tested = self.correction.adjusted[index] is not None
            self._verdicts[key] = Verdict(pairs, self.correction.adjusted[index],
                                          self.correction.confidence(picked) if tested else None, picked)
        return self.correction

    def verdicts(self) -> dict[Hashable, Verdict]:
        """Every member's verdict by key (empty before `close`)."""
        return dict(self._verdicts)
