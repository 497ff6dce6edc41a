"""Every loss of the course, each a plain ``keras.ops`` function giving one loss per example and
a registered Keras loss around it (the function + wrapper pattern Keras builds its own losses
with), and :func:`get`, which makes one by name.

- ``"contrastive"``: :class:`ContrastiveLoss`, of ``contrastive_loss`` (``pair``; notebooks 01, 03)
- ``"triplet"``: :class:`TripletLoss`, of ``triplet_loss`` (``triplet``; notebook 07)
- ``"batch_all"``: :class:`BatchAllTripletLoss`, of ``batch_all_triplet_loss`` (``mining``; 07)
- ``"batch_hard"``: :class:`BatchHardTripletLoss`, of ``batch_hard_triplet_loss`` (``mining``; 07)
- ``"semi_hard"``: :class:`SemiHardTripletLoss`, of ``semi_hard_triplet_loss`` (``mining``; 07)
- ``"batch_contrastive"``: :class:`BatchContrastiveLoss`, of ``batch_contrastive_loss``
  (``mining``; 07): the contrastive loss on every pair of a batch
- ``"n_way"``: :class:`NWayLoss`, of ``n_way_loss`` (``nway``; notebook 06)
- ``"prototypical"``: :class:`PrototypicalLoss`, of ``prototypical_loss`` (``nway``; notebook
  09): the k-shot prototypes of a P x K batch
- ``"info_nce"``: :class:`InfoNCELoss`, of ``info_nce_loss`` (``softmax``; two views)
- ``"supcon"``: :class:`SupConLoss`, of ``supcon_loss`` (``softmax``; labelled batches)
- ``"cosface"``: :class:`CosFaceLoss`, of ``cosface_loss`` (``softmax``; read from the
  :class:`CosineClassifier` head of class centres)

Also here: :func:`active_triplet_fraction` and its metric :class:`ActiveTripletFraction`, which
also reads a model that outputs each triplet's two distances (``inputs="distances"``); the
batch's distance matrix the mining losses read is :func:`course_lib.distances.keras_pairwise`.
Every name is importable from ``course_lib.losses`` itself; the submodules only group them.

Introduced in notebook 01.
"""

from __future__ import annotations

from course_lib import checks
from course_lib.losses.mining import (
    ActiveTripletFraction,
    BatchAllTripletLoss,
    BatchContrastiveLoss,
    BatchHardTripletLoss,
    SemiHardTripletLoss,
    active_triplet_fraction,
    batch_all_triplet_loss,
    batch_contrastive_loss,
    batch_hard_triplet_loss,
    semi_hard_triplet_loss,
)
from course_lib.losses.nway import NWayLoss, PrototypicalLoss, n_way_loss, prototypical_loss
from course_lib.losses.pair import ContrastiveLoss, contrastive_loss
from course_lib.losses.softmax import (
    CosFaceLoss,
    CosineClassifier,
    InfoNCELoss,
    SupConLoss,
    cosface_loss,
    info_nce_loss,
    supcon_loss,
)
from course_lib.losses.triplet import TripletLoss, triplet_loss

__all__ = [
    "ActiveTripletFraction",
    "BatchAllTripletLoss",
    "BatchContrastiveLoss",
    "BatchHardTripletLoss",
    "ContrastiveLoss",
    "CosFaceLoss",
    "CosineClassifier",
    "InfoNCELoss",
    "SupConLoss",
    "NWayLoss",
    "PrototypicalLoss",
    "SemiHardTripletLoss",
    "TripletLoss",
    "active_triplet_fraction",
    "batch_all_triplet_loss",
    "batch_contrastive_loss",
    "batch_hard_triplet_loss",
    "contrastive_loss",
    "cosface_loss",
    "get",
    "info_nce_loss",
    "n_way_loss",
    "prototypical_loss",
    "semi_hard_triplet_loss",
    "supcon_loss",
    "triplet_loss",
]

_BY_NAME = {
    "contrastive": ContrastiveLoss,
    "triplet": TripletLoss,
    "batch_all": BatchAllTripletLoss,
    "batch_hard": BatchHardTripletLoss,
    "semi_hard": SemiHardTripletLoss,
    "batch_contrastive": BatchContrastiveLoss,
    "n_way": NWayLoss,
    "prototypical": PrototypicalLoss,
    "info_nce": InfoNCELoss,
    "supcon": SupConLoss,
    "cosface": CosFaceLoss,
}


def get(name: str, **kwargs):
    """A new Keras loss of the course, by its short name.

    Args:
        name: one of ``"contrastive"``, ``"triplet"``, ``"batch_all"``, ``"batch_hard"``,
            ``"semi_hard"``, ``"batch_contrastive"``, ``"n_way"``, ``"prototypical"``,
            ``"info_nce"``, ``"supcon"``, ``"cosface"`` (see the package docstring).
        **kwargs: the loss's own arguments, e.g. ``margin=0.2`` (``n_way=20`` for
            ``"n_way"``).

    Returns:
        The loss object, e.g. ``get("batch_hard", margin=0.2)`` is
        ``BatchHardTripletLoss(margin=0.2)``.

    Raises:
        TypeError: ``name`` is not a string, or an argument the loss does not take.
        ValueError: an unknown ``name`` (the message lists the known ones), or an argument
            value the loss rejects.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, one of {sorted(_BY_NAME)}, got "
                        f"{type(name).__name__} {name!r}")
    checks.one_of(name, "name", tuple(_BY_NAME))
    return _BY_NAME[name](**kwargs)
