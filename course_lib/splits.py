"""Class-disjoint splits: no class (or group of classes) appears in two parts.

A Siamese network is judged on classes it never saw, so its train / validation / test sets
must split the *classes*, not the examples. :func:`class_disjoint_split` draws a seeded split by
fractions; with ``groups`` (say, Omniglot's alphabets) whole groups go to one part.
:func:`held_out_split` holds out named groups (Omniglot's alphabets in notebook 06).
:func:`open_set_split` sets up an identification test on one part's classes: some classes
"known" (a few images each enrolled in a gallery, the rest queries), the others "unknown" (all
their images queries, whose right answer is "unknown").

Introduced in notebook 08.
"""

from __future__ import annotations

import numpy as np

from course_lib import checks

__all__ = ["class_disjoint_split", "held_out_split", "open_set_split"]


def class_disjoint_split(y, fractions=(0.7, 0.15, 0.15), seed: int = 0,
                         groups=None) -> tuple[np.ndarray, ...]:
    """Boolean masks over examples, one per part, whose classes are disjoint.

    The classes (or the groups, when given) are shuffled with ``seed`` and dealt out: part ``i``
    gets ``round(fractions[i] * n)`` of the ``n`` units (classes or groups), at least one when its
    fraction is > 0, and the first part takes what rounding leaves.

    Args:
        y: 1-D integer class labels.
        fractions: the share of classes of each part (>= 2 parts), each in [0, 1], sum 1.
        seed: an int >= 0; the same seed gives the same split.
        groups: optional 1-D integer group per example; a class must lie in one group.

    Returns:
        A tuple of ``len(fractions)`` boolean arrays, each of the length of ``y``; every example
        is in exactly one part.

    Raises:
        TypeError: ``y``/``groups`` not integers, ``fractions`` not numbers.
        ValueError: fractions not summing to 1 or of fewer than 2 parts, more non-empty parts
            than units, a class spread over two groups, ``groups`` of another length.
    """
    y = checks.class_labels(y, "y")
    seed = checks.seed(seed)
    if isinstance(fractions, (str, bytes)) or not hasattr(fractions, "__len__"):
        raise TypeError(f"fractions must be a sequence of numbers, got {fractions!r}")
    fr = [checks.probability(f, f"fractions[{i}]") for i, f in enumerate(fractions)]
    if len(fr) < 2 or abs(sum(fr) - 1.0) > 1e-6:
        raise ValueError(f"fractions must hold >= 2 shares summing to 1, got {tuple(fractions)}")
    if groups is None:
        units = y
        what = "classes"
    else:
        units = checks.class_labels(groups, "groups")
        checks.same_length(units, "groups", y, "y")
        classes, first = np.unique(y, return_index=True)
        spread = units != units[first[np.searchsorted(classes, y)]]
        if spread.any():
            raise ValueError(f"classes {np.unique(y[spread])[:10].tolist()} have examples in more "
                             "than one group: each class must belong to a single group")
        what = "groups"
    names = np.unique(units)
    wanted = [f > 0 for f in fr]
    if sum(wanted) > len(names):
        raise ValueError(f"{sum(wanted)} non-empty parts need at least {sum(wanted)} {what}, "
                         f"got {len(names)}")
    sizes = [max(int(round(f * len(names))), 1) if f > 0 else 0 for f in fr]
    while sum(sizes) > len(names):           # rounding up the small parts can overshoot
        i = int(np.argmax([s if s > 1 else -1 for s in sizes]))
        sizes[i] -= 1
    sizes[0] += len(names) - sum(sizes)
    order = np.random.default_rng(seed).permutation(names)
    bounds = np.cumsum([0, *sizes])
    return tuple(np.isin(units, order[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:]))


def held_out_split(groups, group_names, held_out, what: str = "group") -> tuple[np.ndarray,
                                                                                  np.ndarray]:
    """Masks ``(train, held)``: the named groups, whole, against every other group.

    Args:
        groups: 1-D integer group id per example (an index into ``group_names``).
        group_names: the name of each group id.
        held_out: a non-empty list of names to hold out (not a single string).
        what: what a group is called in messages (e.g. ``"alphabet"``).

    Returns:
        Two boolean arrays over examples, ``held = ~train``.

    Raises:
        TypeError: ``groups`` not integers; ``group_names`` not a list, tuple or array;
            ``held_out`` not a list or tuple of names (a single string or an int included).
        ValueError: ``held_out`` empty, unknown names, or every group held out.
    """
    groups = checks.class_labels(groups, f"{what} (the {what} of each example)")
    if isinstance(group_names, str) or not isinstance(group_names, (list, tuple, np.ndarray)):
        raise TypeError(f"group_names must be a list, tuple or array of {what} names, got "
                        f"{type(group_names).__name__} {group_names!r}")
    names = list(group_names)
    held_out = checks.name_list(held_out, "held_out", what)
    unknown = [name for name in held_out if name not in names]
    if unknown:
        raise ValueError(f"held_out names {unknown} are not among the {what}s {names}")
    held = np.isin(groups, [names.index(name) for name in held_out])
    if held.all():
        raise ValueError(f"held_out holds every {what}: nothing is left to train on")
    return ~held, held


def open_set_split(y, enroll: int = 1, known: float = 0.5, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Masks ``(in_gallery, known_query)`` for an open-set identification test.

    The classes of ``y`` are shuffled with ``seed``; the first ``round(known * n)`` of the ``n``
    classes (at least 1, at most ``n - 1``) are *known*: each enrolls ``min(enroll, size - 1)``
    of its images (drawn with the seed), so that every known class keeps at least one query.
    The other classes are *unknown*: all their images are queries whose right answer is
    "unknown". Every example is a gallery image, a known query or an unknown query.

    Args:
        y: 1-D integer class labels, each class with at least 2 examples.
        enroll: gallery images per known class, an int >= 1 (fewer for a class of few images).
        known: the share of classes that are known, in (0, 1).
        seed: an int >= 0.

    Returns:
        Two boolean arrays over examples: ``in_gallery`` (enrolled) and ``known_query`` (a
        query of a known class). Unknown queries are ``~in_gallery & ~known_query``.

    Raises:
        TypeError: ``y`` not integers, ``enroll`` not an int.
        ValueError: fewer than 2 classes, a class with a single example, ``known`` outside
            (0, 1), ``enroll`` < 1.
    """
    y = checks.class_labels(y, "y")
    enroll = checks.positive_int(enroll, "enroll")
    share = checks.number(known, "known", 0.0, 1.0, low_open=True, high_open=True)
    seed = checks.seed(seed)
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise ValueError(f"y must hold at least 2 classes (known and unknown), got {len(classes)}")
    if (counts < 2).any():
        raise ValueError(f"classes {classes[counts < 2][:10].tolist()} have a single example: a "
                         "known class needs one image enrolled and one as a query")
    rng = np.random.default_rng(seed)
    n_known = min(max(int(round(share * len(classes))), 1), len(classes) - 1)
    chosen = rng.permutation(classes)[:n_known]
    in_gallery = np.zeros(len(y), bool)
    for c in np.sort(chosen):
        rows = np.flatnonzero(y == c)
        in_gallery[rng.permutation(rows)[:min(enroll, len(rows) - 1)]] = True
    known_query = np.isin(y, chosen) & ~in_gallery
    return in_gallery, known_query
