"""Distances between embeddings and nearest-neighbour ranking: the one home for both.

Every module that measures how far apart embeddings are, or which gallery items lie nearest a
query, calls this one (``evaluate``'s pair distances, k-NN, recall@k and MAP@R,
``gallery.BruteForceSearch`` and ``oneshot.task_scores``), so they all agree on the same data.

- **Metrics** (:data:`METRICS`): ``"euclidean"`` ``|u - v|``, ``"sqeuclidean"`` ``|u - v|^2``
  and ``"cosine"`` ``1 - cos(u, v)``. The cosine distance is computed on the rows scaled to
  unit length (:func:`unit_rows`, the only place that normalises), as half their squared
  Euclidean distance (``|u - v|^2 = 2 - 2 cos`` for unit vectors), so the three metrics rank
  alike wherever the rows have length 1.
- **Given pairs** (:func:`paired`): the distance of ``a[i]`` to ``b[i]`` from the difference
  itself, ``sum((a - b)^2)``: the *exact* distance of the library, the same number however
  the pair is reached (equal rows are exactly 0 apart, and two equal gallery rows are exactly
  equally far from any query).
- **All pairs** (:func:`pairwise`, :meth:`Reference.blocks`): ``|q|^2 + |g|^2 - 2 q.g`` from
  one matrix product, clipped at 0, in the inputs' precision (float32 stays float32, so a
  million-item gallery costs half the memory). Fast, but its last bits depend on the BLAS
  kernel (how many queries share a product, where a row sits), so equal rows need not give
  equal values. Queries go in chunks so that one temporary (chunk x gallery) block stays under
  ``max_bytes`` (64 MB by default).
- **Every pair** (:func:`all_pairs`): the ``i < j`` pairs of one set and their distances,
  from the same blocks, for thresholds chosen on all validation pairs rather than a sample.
- **Ranking** (:meth:`Reference.nearest`, :func:`nearest`): the matrix product picks the
  candidates (every item within a rounding bound of the k-th nearest), their exact distances
  decide. The tie rule, the one used everywhere, is *by exact distance, then by gallery
  index*: among equally distant items the one that comes first in the gallery ranks first. It
  does not depend on chunking or on ``k`` (the first ``k`` of a ranking to depth ``k + 1`` are
  the ranking to depth ``k``). :func:`rank` applies the same rule to a distance matrix the
  caller already has.
- **Differentiable** (:func:`keras_pairwise`): the ``keras.ops`` pairwise distance of a batch
  that the triplet losses back-propagate through, safe at zero distance.

NumPy only at import time; Keras is imported by :func:`keras_pairwise` alone. Introduced in
notebook 01. (Notebook 01 reaches it through ``evaluate.pair_distances``.)
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from course_lib import checks

__all__ = [
    "DEFAULT_MAX_BYTES",
    "METRICS",
    "Reference",
    "all_pairs",
    "check_metric",
    "keras_pairwise",
    "nearest",
    "paired",
    "pairwise",
    "rank",
    "unit_rows",
]

METRICS = ("euclidean", "sqeuclidean", "cosine")
DEFAULT_MAX_BYTES = 64 * 2**20      # one temporary distance block: 64 MB


# --------------------------------------------------------------------------- validation


def check_metric(metric) -> str:
    """``metric`` itself when it is one of :data:`METRICS`.

    Args:
        metric: the metric's name.

    Returns:
        ``metric`` unchanged.

    Raises:
        ValueError: any other value (the message lists the metrics).
    """
    return checks.one_of(metric, "metric", METRICS)


def _floats(x, name: str, ndim: int | None = None, allow_empty: bool = False) -> np.ndarray:
    """``x`` as a finite float array (:func:`checks.float_array`), float32 kept as float32 so a
    large gallery is not copied to float64."""
    arr = np.asarray(x)
    if arr.dtype != np.float32:
        return checks.float_array(arr, name, ndim=ndim, allow_empty=allow_empty)
    if ndim is not None and arr.ndim != ndim:                  # the wording of checks
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")
    return arr


def _rows(x, name: str) -> np.ndarray:
    """``x`` as a finite, non-empty 2-D float array (float32 kept, anything else float64)."""
    return _floats(x, name, ndim=2)


def _same_dim(a: np.ndarray, a_name: str, b: np.ndarray, b_name: str) -> None:
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"{b_name} has {b.shape[-1]} dimensions but {a_name} has {a.shape[-1]}")


def unit_rows(x, name: str = "x") -> np.ndarray:
    """``x`` with every row (last axis) scaled to length 1: what the cosine metric measures.

    Args:
        x: a float array, rows along the last axis.
        name: the argument's name, for the error message.

    Returns:
        A new array of the same shape and float dtype.

    Raises:
        TypeError: non-numeric ``x``.
        ValueError: NaN/inf, or a zero row (a zero vector has no direction).
    """
    arr = _floats(x, name, allow_empty=True)
    norms = np.linalg.norm(arr, axis=-1, keepdims=True)
    zero = int((norms == 0).sum())
    if zero:
        raise ValueError(f"metric='cosine' needs non-zero rows in {name} (a zero vector has no "
                         f"direction), got {zero} zero row(s)")
    return arr / norms


def _prepared(x: np.ndarray, metric: str, name: str) -> np.ndarray:
    return unit_rows(x, name) if metric == "cosine" else x


def _finish(d2: np.ndarray, metric: str) -> np.ndarray:
    """Squared Euclidean distances (of unit rows for cosine), in place, to the metric's."""
    if metric == "euclidean":
        np.sqrt(d2, out=d2)
    elif metric == "cosine":
        d2 *= 0.5
    return d2


# --------------------------------------------------------------------------- given pairs


def paired(a, b, metric: str = "euclidean", names: tuple[str, str] = ("a", "b")) -> np.ndarray:
    """The distance of each row of ``a`` to the matching row of ``b`` (shapes broadcast).

    Computed from the difference of the rows, so equal rows are exactly 0 apart.

    Args:
        a: float array (..., D), e.g. (P, D), or (T, 1, D) against (T, N, D).
        b: float array (..., D) broadcastable against ``a``.
        metric: one of :data:`METRICS`.
        names: what to call ``a`` and ``b`` in error messages.

    Returns:
        Distances of the broadcast shape without the last axis (float64, or float32 when both
        inputs are float32).

    Raises:
        TypeError: non-numeric arrays.
        ValueError: NaN/inf, different last dimensions or shapes that do not broadcast, an
            unknown metric, a zero row under the cosine metric.
    """
    metric = check_metric(metric)
    arrays = []
    for name, x in zip(names, (a, b), strict=True):
        arr = _floats(x, name, allow_empty=True)
        if arr.ndim < 1:
            raise ValueError(f"{name} must have rows along its last axis, got a scalar")
        arrays.append(_prepared(arr, metric, name))
    a, b = arrays
    _same_dim(a, names[0], b, names[1])
    try:
        diff = a - b
    except ValueError as err:
        raise ValueError(f"{names[0]} of shape {a.shape} and {names[1]} of shape {b.shape} do "
                         "not broadcast") from err
    return _finish(_squared_difference(diff), metric)


def _where(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of a 2-D mask, row-major (ten times faster through the flat index)."""
    return np.divmod(np.flatnonzero(mask), mask.shape[1])


def _squared_difference(diff: np.ndarray) -> np.ndarray:
    """``sum(diff^2)`` along the last axis: what np.linalg.norm sums, to the last bit."""
    return (diff * diff).sum(axis=-1)


# --------------------------------------------------------------------------- ranking


def _rank(d: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k smallest entries of each row, by value then column index."""
    n = d.shape[1]
    if 2 * k >= n:
        return np.argsort(d, axis=1, kind="stable")[:, :k]
    kth = np.partition(d, k - 1, axis=1)[:, k - 1:k]           # each row's k-th smallest value
    less = d < kth
    take = less | (d == kth)
    crowded = np.flatnonzero(take.sum(1) > k)                  # ties at the k-th value
    if crowded.size:
        room = k - less[crowded].sum(1, keepdims=True)
        tied = d[crowded] == kth[crowded]
        take[crowded] = less[crowded] | (tied & (np.cumsum(tied, axis=1) <= room))
    cols = np.nonzero(take)[1].reshape(len(d), k)              # ascending column order
    order = np.argsort(np.take_along_axis(d, cols, axis=1), axis=1, kind="stable")
    return np.take_along_axis(cols, order, axis=1)


def rank(distances, k: int) -> np.ndarray:
    """The ``k`` nearest columns of each row of a distance matrix, nearest first.

    The tie rule: by distance, then by column index (of equally distant columns, the lower index
    ranks first). ``+inf`` is allowed (an entry left out, e.g. a query's own gallery item).

    Args:
        distances: (M, N) float array, smaller = nearer.
        k: how many columns to return, an int in [1, N].

    Returns:
        (M, k) int64 column indices.

    Raises:
        TypeError: non-numeric distances or a non-int ``k``.
        ValueError: not 2-D, empty, NaN inside, ``k`` outside [1, N].
    """
    try:
        d = np.asarray(distances, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"distances must be a numeric array, got {type(distances).__name__}") \
            from err
    if d.ndim != 2 or d.size == 0:
        raise ValueError(f"distances must be a non-empty 2-D array, got shape {d.shape}")
    if np.isnan(d).any():
        raise ValueError("distances contains NaN")
    k = checks.integer(k, "k", minimum=1, maximum=d.shape[1])
    return _rank(d, k)


# --------------------------------------------------------------------------- all pairs


class Reference:
    """A reference set (a gallery) prepared once for distances and nearest-neighbour queries.

    Holds the rows (unit-length for ``metric="cosine"``) and their squared norms, so every
    batch of queries costs one matrix product per chunk.

    Args:
        rows: (N, D) float array; float32 is kept as float32, anything else becomes float64.
        metric: one of :data:`METRICS`.
        name: the argument's name in error messages (e.g. ``"gallery_emb"``).

    Raises:
        TypeError: non-numeric rows.
        ValueError: not 2-D, empty, NaN/inf, an unknown metric, a zero row under cosine.
    """

    def __init__(self, rows, metric: str = "euclidean", name: str = "gallery"):
        self.metric = check_metric(metric)
        self.name = name
        self.rows = _prepared(_rows(rows, name), self.metric, name)
        self._sq = (self.rows * self.rows).sum(axis=1)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def nbytes(self) -> int:
        """Memory held: the rows and their squared norms."""
        return int(self.rows.nbytes + self._sq.nbytes)

    def _queries(self, queries, name: str) -> np.ndarray:
        if queries is None:
            return self.rows
        q = _prepared(_rows(queries, name), self.metric, name)
        _same_dim(self.rows, self.name, q, name)
        return q.astype(self.rows.dtype, copy=False)

    def blocks(self, queries=None, max_bytes: int = DEFAULT_MAX_BYTES, squared: bool = False,
               exclude_self: bool = False, name: str = "queries"
               ) -> Iterator[tuple[int, np.ndarray]]:
        """Distances from the queries to every reference row, a chunk of queries at a time.

        Args:
            queries: (M, D) float array; None uses the reference rows themselves.
            max_bytes: the most memory one block may take (at least one query per block).
            squared: yield squared Euclidean distances (of unit rows for cosine) instead of the
                metric's: the same ranking, one square root less.
            exclude_self: set each query's own entry to ``+inf`` (queries must be None).
            name: the queries' name in error messages.

        Returns:
            An iterator of ``(start, block)``: ``block`` (m, N) holds queries
            ``start .. start + m - 1``.

        Raises:
            TypeError: non-numeric queries, non-int ``max_bytes``, non-bool flags.
            ValueError: bad queries (see the class), ``max_bytes`` < 1, ``exclude_self`` with
                explicit queries.
        """
        q = self._options(queries, max_bytes, squared, exclude_self, name)
        return self._blocks(q, max_bytes, squared, exclude_self)

    def _options(self, queries, max_bytes, squared, exclude_self, name) -> np.ndarray:
        """The validated queries (the reference rows when None) after checking the options."""
        checks.positive_int(max_bytes, "max_bytes")
        checks.boolean(squared, "squared")
        if checks.boolean(exclude_self, "exclude_self") and queries is not None:
            raise ValueError("exclude_self=True needs queries=None (the reference rows "
                             "themselves)")
        return self._queries(queries, name)

    def _blocks(self, q, max_bytes, squared, exclude_self):
        g = self.rows
        step = max(1, max_bytes // (len(g) * g.itemsize))
        for lo in range(0, len(q), step):
            qc = q[lo:lo + step]
            d2 = qc @ g.T                      # the only (chunk x N) temporary, updated in place
            d2 *= -2.0
            d2 += self._sq[None, :]
            d2 += (qc * qc).sum(axis=1)[:, None]
            np.maximum(d2, 0.0, out=d2)        # rounding can make a squared distance negative
            if exclude_self:
                d2[np.arange(len(qc)), np.arange(lo, lo + len(qc))] = np.inf
            yield lo, d2 if squared else _finish(d2, self.metric)

    def nearest(self, queries=None, k: int = 1, exclude_self: bool = False,
                max_bytes: int = DEFAULT_MAX_BYTES, name: str = "queries"
                ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest reference rows of each query, by exact distance then row index.

        The matrix product of :meth:`blocks` finds the candidates; their distances are then
        computed from the differences (as :func:`paired` does), which decide the order.

        Args:
            queries: (M, D) float array; None uses the reference rows themselves.
            k: neighbours per query, an int in [1, N] (N - 1 with ``exclude_self``).
            exclude_self: leave each query's own row out (queries must be None).
            max_bytes: memory bound of one temporary block (see :meth:`blocks`).
            name: the queries' name in error messages.

        Returns:
            ``(indices, distances)``, both (M, k): row indices into the reference set and the
            metric's exact distances (those of :func:`paired`), nearest first.

        Raises:
            TypeError, ValueError: as for :meth:`blocks`; ``k`` out of range.
        """
        q = self._options(queries, max_bytes, False, exclude_self, name)
        k = checks.integer(k, "k", minimum=1, maximum=len(self) - int(exclude_self))
        idx = np.empty((len(q), k), np.int64)
        dist = np.empty((len(q), k), self.rows.dtype)
        for lo, d2 in self._blocks(q, max_bytes, True, exclude_self):
            qc = q[lo:lo + len(d2)]
            kth = (d2.min(axis=1, keepdims=True) if k == 1 else
                   np.partition(d2, k - 1, axis=1)[:, k - 1:k])
            rows, cols = _where(d2 <= kth + self._bound(qc))       # cols ascend within a row
            exact = self._exact(qc, rows, cols, max_bytes)
            order = np.lexsort((cols, exact, rows))              # row, exact distance, index
            first = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(d2)))[:-1]])
            pick = order[first[:, None] + np.arange(k)]
            idx[lo:lo + len(d2)] = cols[pick]
            dist[lo:lo + len(d2)] = _finish(exact[pick], self.metric)
        return idx, dist

    def _segments(self, starts) -> tuple[np.ndarray, np.ndarray]:
        """Validated segment starts and sizes."""
        starts = checks.index_array(starts, "starts", ndim=1, size=len(self))
        if starts[0] != 0 or (np.diff(starts) <= 0).any():
            raise ValueError("starts must increase strictly from 0 (the first row of each "
                             f"segment), got {starts[:10].tolist()}")
        return starts, np.diff(np.append(starts, len(self)))

    def segment_minima(self, queries, starts, max_bytes: int = DEFAULT_MAX_BYTES,
                       name: str = "queries") -> np.ndarray:
        """Each query's distance to the nearest row of each segment, from the matrix product.

        Segment ``j`` is rows ``starts[j]`` up to ``starts[j + 1]`` (the last runs to the end):
        e.g. the classes of a gallery sorted by class. Fast (one product and one reduction per
        block) but, like :meth:`blocks`, only as exact as the product: rank with
        :meth:`nearest_segments`, which settles near-ties with exact distances.

        Args:
            queries: (M, D) float array.
            starts: (S,) increasing int row indices, the first 0.
            max_bytes: memory bound of one temporary block.
            name: the queries' name in error messages.

        Returns:
            (M, S) distances (the metric's), in the reference rows' precision.

        Raises:
            TypeError, ValueError: bad queries or ``max_bytes`` (see :meth:`blocks`), starts
                that are not increasing row indices from 0.
        """
        q = self._options(queries, max_bytes, False, False, name)
        starts, _ = self._segments(starts)
        return _finish(self._segment_minima(q, starts, max_bytes), self.metric)

    def _segment_minima(self, q, starts, max_bytes) -> np.ndarray:
        out = np.empty((len(q), len(starts)), self.rows.dtype)
        for lo, d2 in self._blocks(q, max_bytes, True, False):
            out[lo:lo + len(d2)] = np.minimum.reduceat(d2, starts, axis=1)
        return out

    def nearest_segments(self, queries, starts, k: int = 1,
                         max_bytes: int = DEFAULT_MAX_BYTES, name: str = "queries"
                         ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` segments nearest each query, by the exact distance of their nearest row,
        then by segment index (the one tie rule, as in :meth:`nearest`).

        The product's segment minima (:meth:`segment_minima`) pick the candidate segments
        (within a rounding bound of the k-th); every row of a candidate is then measured from
        the difference, as :func:`paired` does.

        Args:
            queries: (M, D) float array.
            starts: (S,) increasing int row indices, the first 0 (see :meth:`segment_minima`).
            k: segments per query, an int in [1, S].
            max_bytes: memory bound of one temporary block.
            name: the queries' name in error messages.

        Returns:
            ``(segments, distances)``, both (M, k), nearest first: segment indices and the
            metric's exact distances.

        Raises:
            TypeError, ValueError: as for :meth:`segment_minima`; ``k`` out of range.
        """
        q = self._options(queries, max_bytes, False, False, name)
        starts, sizes = self._segments(starts)
        k = checks.integer(k, "k", minimum=1, maximum=len(starts))
        approx = self._segment_minima(q, starts, max_bytes)
        kth = (approx.min(axis=1, keepdims=True) if k == 1 else
               np.partition(approx, k - 1, axis=1)[:, k - 1:k])
        rows, segs = _where(approx <= kth + self._bound(q))   # segs ascend within a row
        exact = np.empty(len(rows), self.rows.dtype)
        counts = sizes[segs]
        # Candidates in groups of about max_bytes / 32 rows to measure (4 index arrays).
        group = (np.cumsum(counts) - counts) // max(1, max_bytes // 32)
        cuts = np.concatenate([[0], np.flatnonzero(np.diff(group)) + 1, [len(rows)]])
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            c = counts[lo:hi]
            offsets = np.cumsum(c) - c
            pair = np.repeat(np.arange(lo, hi), c)
            items = starts[segs[pair]] + np.arange(int(c.sum())) - np.repeat(offsets, c)
            exact[lo:hi] = np.minimum.reduceat(self._exact(q, rows[pair], items, max_bytes),
                                               offsets)
        order = np.lexsort((segs, exact, rows))
        first = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(q)))[:-1]])
        pick = order[first[:, None] + np.arange(k)]
        return segs[pick], _finish(exact[pick], self.metric)

    def _bound(self, qc: np.ndarray) -> np.ndarray:
        """(m, 1) bound on how far a squared distance from the matrix product can be from the
        one computed from the difference.

        The product's error is at most about (2D + 4) u (|q| + |g|)^2 (u: unit roundoff) and the
        direct sum's is smaller; four times that, in eps = 2u, keeps every row that might tie or
        beat the one it is compared with.
        """
        slack = 4 * (2 * self.rows.shape[1] + 4) * np.finfo(self.rows.dtype).eps
        g_norm_max = np.sqrt(self._sq.max())
        return slack * (np.sqrt((qc * qc).sum(axis=1, keepdims=True)) + g_norm_max) ** 2

    def _exact(self, qc, rows, cols, max_bytes) -> np.ndarray:
        """Squared distances of the pairs ``(qc[rows[i]], self.rows[cols[i]])`` from their
        differences, a memory-bounded piece at a time."""
        out = np.empty(len(rows), self.rows.dtype)
        step = max(1, max_bytes // (self.rows.shape[1] * self.rows.itemsize))
        for lo in range(0, len(rows), step):
            part = slice(lo, lo + step)
            out[part] = _squared_difference(qc[rows[part]] - self.rows[cols[part]])
        return out


def pairwise(a, b=None, metric: str = "euclidean", max_bytes: int = DEFAULT_MAX_BYTES
             ) -> np.ndarray:
    """All distances between the rows of ``a`` and those of ``b``, shape (M, N).

    Args:
        a: (M, D) float array (float32 is kept, anything else becomes float64).
        b: (N, D) float array; None means ``a`` itself.
        metric: one of :data:`METRICS`.
        max_bytes: memory bound of each temporary block while filling the result.

    Returns:
        The (M, N) distance matrix, in ``b``'s precision (``a``'s when ``b`` is None, with an
        exact zero diagonal).

    Raises:
        TypeError: non-numeric arrays.
        ValueError: not 2-D, empty, NaN/inf, different dimensions, an unknown metric, a zero
            row under cosine.
    """
    ref = Reference(a if b is None else b, metric, "a" if b is None else "b")
    q = ref._options(None if b is None else a, max_bytes, False, False, "a")
    out = np.empty((len(q), len(ref)), ref.rows.dtype)
    for lo, block in ref._blocks(q, max_bytes, False, False):
        out[lo:lo + len(block)] = block
    if b is None:
        np.fill_diagonal(out, 0.0)          # exactly 0, where rounding may leave a few ulp
    return out


def all_pairs(rows, metric: str = "euclidean", max_bytes: int = DEFAULT_MAX_BYTES
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair ``i < j`` of the rows and its distance: ``n (n - 1) / 2`` pairs.

    The distances come from the matrix product (:meth:`Reference.blocks`), a block of rows at a
    time, and only each block's upper triangle is kept: memory is the result (n^2 / 2 values)
    plus one block, never an (n, n, D) difference array. 10,000 embeddings give 50 million
    pairs (200 MB of float32 distances and 400 MB of int32 indices).

    Args:
        rows: (n, D) float array, n >= 2 (float32 is kept, anything else becomes float64).
        metric: one of :data:`METRICS`.
        max_bytes: memory bound of each temporary block.

    Returns:
        ``(left, right, distances)``: int32 (int64 past 2^31 rows) indices with
        ``left < right``, in row-major order, and their distances in the rows' precision.

    Raises:
        TypeError, ValueError: as for :class:`Reference`; fewer than 2 rows.
    """
    ref = Reference(rows, metric, "rows")
    n = len(ref)
    if n < 2:
        raise ValueError(f"rows must hold at least 2 rows to form a pair, got {n}")
    q = ref._options(None, max_bytes, False, False, "rows")
    index = np.int32 if n < 2**31 else np.int64
    left, right, dist = [], [], []
    for lo, block in ref._blocks(q, max_bytes, False, False):
        i, j = np.nonzero(np.arange(n)[None, :] > np.arange(lo, lo + len(block))[:, None])
        left.append((i + lo).astype(index))
        right.append(j.astype(index))
        dist.append(block[i, j])
    return np.concatenate(left), np.concatenate(right), np.concatenate(dist)


def nearest(queries, gallery=None, k: int = 1, metric: str = "euclidean",
            exclude_self: bool = False, max_bytes: int = DEFAULT_MAX_BYTES
            ) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest gallery rows of each query (see :meth:`Reference.nearest`).

    Args:
        queries: (M, D) float array.
        gallery: (N, D) float array; None means the queries themselves, each query's own row
            left out of its ranking.
        k: neighbours per query, an int in [1, N] (N - 1 when the own row is left out).
        metric: one of :data:`METRICS`.
        exclude_self: with an explicit gallery, ``queries`` must be that same array and each
            query's own row is left out.
        max_bytes: memory bound of one temporary block.

    Returns:
        ``(indices, distances)``, both (M, k), nearest first; ties by gallery index.

    Raises:
        TypeError, ValueError: bad arrays, metric or ``k``; ``exclude_self`` with queries that
            are not the gallery.
    """
    exclude_self = checks.boolean(exclude_self, "exclude_self")
    if gallery is None:
        return Reference(queries, metric, "queries").nearest(None, k, True, max_bytes)
    ref = Reference(gallery, metric, "gallery")
    if exclude_self:
        if not np.array_equal(np.asarray(queries, dtype=ref.rows.dtype),
                              np.asarray(gallery, dtype=ref.rows.dtype)):
            raise ValueError("exclude_self=True needs queries identical to gallery")
        return ref.nearest(None, k, True, max_bytes)
    return ref.nearest(queries, k, False, max_bytes)


# --------------------------------------------------------------------------- differentiable


def keras_pairwise(embeddings, squared: bool = False, epsilon: float = 1e-6):
    """All pairwise Euclidean distances of a batch with ``keras.ops``, shape (batch, batch).

    Differentiable and safe where two embeddings coincide: ``sqrt(d^2 + epsilon)`` keeps the
    gradient finite at ``d = 0`` (as :class:`course_lib.layers.EuclideanDistance` does).

    Args:
        embeddings: a (batch, dim) tensor or array (cast to float32).
        squared: when True, squared Euclidean distances (no square root, no epsilon).
        epsilon: added under the square root, >= 0; > 0 keeps gradients finite at d = 0.

    Returns:
        A float32 tensor; the diagonal is ``sqrt(epsilon)`` (0 when squared).

    Raises:
        ValueError: ``embeddings`` not 2-D, ``epsilon`` < 0. TypeError: ``squared`` not a bool.
    """
    import keras
    from keras import ops

    squared = checks.boolean(squared, "squared")
    epsilon = checks.number(epsilon, "epsilon", low=0.0)
    e = ops.convert_to_tensor(embeddings)
    if len(e.shape) != 2:
        raise ValueError(f"embeddings must be 2-D (batch, dim), got shape {tuple(e.shape)}")
    if keras.backend.standardize_dtype(e.dtype) != "float32":
        e = ops.cast(e, "float32")          # float16 squares overflow; ints need a float type
    sq = ops.sum(ops.square(e), axis=1)
    d2 = ops.expand_dims(sq, 1) + ops.expand_dims(sq, 0) - 2.0 * ops.matmul(e, ops.transpose(e))
    off_diagonal = 1.0 - ops.eye(ops.shape(e)[0], dtype="float32")
    d2 = ops.relu(d2) * off_diagonal     # rounding can make d^2 slightly negative, or nonzero at i=i
    return d2 if squared else ops.sqrt(d2 + epsilon)
