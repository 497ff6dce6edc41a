"""Encoders and Siamese builders, all with the Keras functional API.

An encoder maps one image to one embedding. ``siamese`` calls the *same* encoder on two inputs
(shared weights); ``pseudo_siamese`` uses two encoders (distinct weights, maybe distinct shapes).
``pretrained_encoder`` starts from an ImageNet-trained ``keras.applications`` network (frozen
first, then fine-tuned with ``set_backbone_trainable``).

Introduced in notebook 01.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
from keras import layers

from course_lib import checks
from course_lib.layers import EuclideanDistance, ShiftedViews, ViewMean, WeightedL1Similarity

__all__ = [
    "conv4_encoder",
    "ensemble",
    "five_conv_encoder",
    "kerasio_sigmoid_siamese",
    "koch_encoder",
    "mlp_encoder",
    "pretrained_encoder",
    "pseudo_siamese",
    "refresh_batch_norm",
    "set_backbone_trainable",
    "shift_averaged",
    "siamese",
    "small_cnn_encoder",
]


def _check_shape(input_shape, name: str = "input_shape") -> tuple[int, ...]:
    if not isinstance(input_shape, (list, tuple)):
        raise TypeError(f"{name} must be a tuple of positive ints such as (28, 28), got "
                        f"{type(input_shape).__name__} {input_shape!r}")
    if not input_shape:
        raise ValueError(f"{name} must not be empty, got {input_shape!r}")
    return tuple(checks.positive_int(s, f"{name}[{i}]") for i, s in enumerate(input_shape))


def _check_dim(embedding_dim: int) -> int:
    return checks.positive_int(embedding_dim, "embedding_dim")


def _image_input(input_shape, name: str):
    """An image input; a (H, W) shape gets a channel axis so conv layers accept it."""
    shape = _check_shape(input_shape)
    inputs = keras.Input(shape=shape, name=name)
    x = layers.Reshape((*shape, 1))(inputs) if len(shape) == 2 else inputs
    return inputs, x


def mlp_encoder(input_shape=(28, 28), embedding_dim: int = 2, hidden: int = 1024,
                name: str = "mlp_encoder") -> keras.Model:
    """Three dense layers, the encoder of the classic MNIST Siamese blog post (linear output).

    Args:
        input_shape: the image shape, e.g. ``(28, 28)``: a tuple of positive ints.
        embedding_dim: the embedding's size, an int >= 1.
        hidden: units of each of the two hidden ReLU layers.
        name: the model's name.

    Returns:
        A functional ``keras.Model`` from one image to its embedding.

    Raises:
        TypeError: a shape that is not a tuple of ints, a non-int size.
        ValueError: a size < 1.
    """
    inputs = keras.Input(shape=_check_shape(input_shape), name="image")
    x = layers.Flatten()(inputs)
    x = layers.Dense(hidden, activation="relu")(x)
    x = layers.Dense(hidden, activation="relu")(x)
    outputs = layers.Dense(_check_dim(embedding_dim), name="embedding")(x)
    return keras.Model(inputs, outputs, name=name)


def small_cnn_encoder(input_shape=(28, 28), embedding_dim: int = 2, filters=(32, 64),
                      dense: int = 128, name: str = "small_cnn_encoder") -> keras.Model:
    """Two conv + pool blocks, one hidden dense layer, then a linear embedding.

    Args:
        input_shape: the image shape, e.g. ``(28, 28)``: a tuple of positive ints.
        embedding_dim: the embedding's size, an int >= 1.
        filters: filters of each 3x3 conv block.
        dense: units of the hidden ReLU layer.
        name: the model's name.

    Returns:
        A functional ``keras.Model`` from one image to its embedding.

    Raises:
        TypeError: a shape that is not a tuple of ints, a non-int size.
        ValueError: a size < 1.
    """
    inputs, x = _image_input(input_shape, "image")
    for f in filters:
        x = layers.Conv2D(f, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(dense, activation="relu")(x)
    outputs = layers.Dense(_check_dim(embedding_dim), name="embedding")(x)
    return keras.Model(inputs, outputs, name=name)


def five_conv_encoder(input_shape=(28, 28), embedding_dim: int = 2, width: int = 32,
                      name: str = "five_conv_encoder") -> keras.Model:
    """Five 3x3 conv layers (two poolings), global average pooling, linear embedding.

    Args:
        input_shape: the image shape, e.g. ``(28, 28)``: a tuple of positive ints.
        embedding_dim: the embedding's size, an int >= 1.
        width: filters of the first two layers (then 2x and 4x).
        name: the model's name.

    Returns:
        A functional ``keras.Model`` from one image to its embedding.

    Raises:
        TypeError: a shape that is not a tuple of ints, a non-int size.
        ValueError: a size < 1.
    """
    inputs, x = _image_input(input_shape, "image")
    for i, f in enumerate([width, width, 2 * width, 2 * width, 4 * width]):
        x = layers.Conv2D(f, 3, padding="same", activation="relu")(x)
        if i in (1, 3):
            x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(_check_dim(embedding_dim), name="embedding")(x)
    return keras.Model(inputs, outputs, name=name)


def conv4_encoder(input_shape=(28, 28), embedding_dim: int = 256, filters: int = 64,
                  blocks: int = 4, batch_norm: bool = True,
                  name: str = "conv4_encoder") -> keras.Model:
    """The small conv net of few-shot learning: ``blocks`` x (3x3 conv, batch norm, ReLU, 2x2
    max-pool), flattened, then a linear embedding.

    The four-block, 64-filter version is the embedding network of Vinyals et al. (2016) and
    Snell et al. (2017); at 28x28 it has about a hundred thousand weights, cheap on a CPU.

    Args:
        input_shape: the image shape, e.g. ``(28, 28)``: a tuple of positive ints.
        embedding_dim: the embedding's size, an int >= 1.
        filters: filters of every conv layer, an int >= 1.
        blocks: conv blocks, an int >= 1 (each halves the image side).
        batch_norm: put batch normalisation between each conv and its ReLU.
        name: the model's name.

    Returns:
        A functional ``keras.Model`` from one image to its embedding.

    Raises:
        TypeError: a shape that is not a tuple of ints, a non-int size, a non-bool batch_norm.
        ValueError: a size < 1, or an image too small for ``blocks`` poolings.
    """
    filters = checks.positive_int(filters, "filters")
    blocks = checks.positive_int(blocks, "blocks")
    batch_norm = checks.boolean(batch_norm, "batch_norm")
    shape = _check_shape(input_shape)
    if min(shape[:2]) < 2**blocks:
        raise ValueError(f"input_shape {shape} is too small for {blocks} poolings: each side must "
                         f"be at least {2**blocks}")
    inputs, x = _image_input(shape, "image")
    for _ in range(blocks):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=not batch_norm)(x)
        if batch_norm:
            x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(_check_dim(embedding_dim), name="embedding")(x)
    return keras.Model(inputs, outputs, name=name)


def koch_encoder(input_size: int = 105, embedding_dim: int = 4096, width: float = 1.0,
                 l2: float = 2e-4, name: str = "koch_encoder") -> keras.Model:
    """Koch, Zemel and Salakhutdinov (2015) conv net; ``width`` scales the filter counts for CPUs.

    At 105x105 and ``width=1``: conv 64@10, 128@7, 128@4, 256@4 with 2x2 max-pooling after the
    first three, then a sigmoid dense layer of 4096 units, as in the paper.

    Args:
        input_size: side of the square input images, an int >= 28 (room for four convs);
            kernel sizes scale with it.
        embedding_dim: units of the sigmoid embedding layer.
        width: multiplies the filter counts, a number > 0.
        l2: L2 penalty on the weights (0: none).
        name: the model's name.

    Returns:
        A functional ``keras.Model`` from one image to its embedding.

    Raises:
        TypeError: a non-int size or non-numeric width.
        ValueError: ``input_size`` < 28, ``embedding_dim`` < 1 or ``width`` <= 0.
    """
    input_size = checks.integer(input_size, "input_size", minimum=28)  # room for four convs
    width = checks.number(width, "width", 0.0, low_open=True)
    scale = input_size / 105
    reg = keras.regularizers.L2(l2) if l2 else None
    inputs, x = _image_input((input_size, input_size), "image")
    blocks = [(64, 10), (128, 7), (128, 4), (256, 4)]
    for i, (filters, kernel) in enumerate(blocks):
        k = max(2, round(kernel * scale))
        x = layers.Conv2D(max(4, int(filters * width)), k, activation="relu",
                          kernel_regularizer=reg)(x)
        if i < len(blocks) - 1:
            x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(_check_dim(embedding_dim), activation="sigmoid",
                           kernel_regularizer=reg, name="embedding")(x)
    return keras.Model(inputs, outputs, name=name)


def _head(head):
    if head == "euclidean":
        return EuclideanDistance(name="distance")
    if head == "koch":
        return WeightedL1Similarity(name="similarity")
    if isinstance(head, keras.layers.Layer):
        return head
    if not isinstance(head, str):
        raise TypeError(f"head must be 'euclidean', 'koch' or a keras Layer, got "
                        f"{type(head).__name__}")
    raise ValueError(f"head must be 'euclidean', 'koch' or a keras Layer, got {head!r}")


def siamese(encoder: keras.Model, head="euclidean", name: str = "siamese") -> keras.Model:
    """Two inputs, one encoder called on both (one set of weights), then a distance/similarity head.

    ``head``: ``"euclidean"`` (a distance, for the contrastive loss), ``"koch"`` (weighted L1 +
    sigmoid, for binary cross-entropy) or any layer taking ``[a, b]``.

    Args:
        encoder: a one-input ``keras.Model``.
        head: ``"euclidean"``, ``"koch"`` or a ``keras.layers.Layer``.
        name: the model's name.

    Returns:
        A ``keras.Model`` with inputs ``[left, right]`` and the head's output (batch, 1).

    Raises:
        TypeError: ``encoder`` not a Model, ``head`` neither a str nor a Layer.
        ValueError: an unknown head name.
    """
    if not isinstance(encoder, keras.Model):
        raise TypeError(f"encoder must be a keras.Model, got {type(encoder).__name__}")
    shape = tuple(encoder.input_shape[1:])
    a = keras.Input(shape=shape, name="left")
    b = keras.Input(shape=shape, name="right")
    output = _head(head)([encoder(a), encoder(b)])
    return keras.Model([a, b], output, name=name)


def pseudo_siamese(encoder_a: keras.Model, encoder_b: keras.Model, head="euclidean",
                   name: str = "pseudo_siamese") -> keras.Model:
    """Like :func:`siamese` but each input has its own encoder: distinct weights, maybe shapes.

    The two encoders must produce embeddings of the same size, so that they meet in one space.

    Args:
        encoder_a: the ``keras.Model`` for the left input.
        encoder_b: another ``keras.Model`` (not the same object) for the right input.
        head: as in :func:`siamese`.
        name: the model's name.

    Returns:
        A ``keras.Model`` with inputs ``[left, right]`` and the head's output.

    Raises:
        TypeError: an encoder that is not a Model.
        ValueError: the same encoder twice, or embeddings of different sizes.
    """
    for arg, enc in (("encoder_a", encoder_a), ("encoder_b", encoder_b)):
        if not isinstance(enc, keras.Model):
            raise TypeError(f"{arg} must be a keras.Model, got {type(enc).__name__}")
    if encoder_a is encoder_b:
        raise ValueError("encoder_a and encoder_b are the same object: use siamese() to share weights")
    if encoder_a.output_shape[-1] != encoder_b.output_shape[-1]:
        raise ValueError(f"encoder_a and encoder_b must give embeddings of one size, got "
                         f"{encoder_a.output_shape[-1]} and {encoder_b.output_shape[-1]}")
    a = keras.Input(shape=tuple(encoder_a.input_shape[1:]), name="left")
    b = keras.Input(shape=tuple(encoder_b.input_shape[1:]), name="right")
    output = _head(head)([encoder_a(a), encoder_b(b)])
    return keras.Model([a, b], output, name=name)


def kerasio_sigmoid_siamese(input_shape=(28, 28),
                            name: str = "kerasio_sigmoid_siamese") -> tuple[keras.Model, keras.Model]:
    """keras.io's sigmoid-head Siamese model (Mehdi 2021, "Image similarity estimation using a
    Siamese Network with a contrastive loss"): batch norm, conv 4@5x5 tanh, average pooling,
    conv 16@5x5 tanh, average pooling, batch norm, dense 10 tanh; then the Euclidean distance,
    batch norm and ``Dense(1, sigmoid)``. Its output is a number in (0, 1), not a distance:
    notebook 03 shows what the contrastive loss becomes on it.

    Args:
        input_shape: the image shape, e.g. ``(28, 28)``: a tuple of positive ints.
        name: the two-input model's name.

    Returns:
        ``(encoder, model)``: the encoder (one image to its 10-D embedding) and the two-input
        model ``[left, right]`` -> sigmoid output, shape (batch, 1).

    Raises:
        TypeError: a shape that is not a tuple of ints.
        ValueError: a size < 1.
    """
    image, h = _image_input(input_shape, "image")
    h = layers.BatchNormalization()(h)
    h = layers.Conv2D(4, 5, activation="tanh")(h)
    h = layers.AveragePooling2D(2)(h)
    h = layers.Conv2D(16, 5, activation="tanh")(h)
    h = layers.AveragePooling2D(2)(h)
    h = layers.BatchNormalization()(layers.Flatten()(h))
    encoder = keras.Model(image, layers.Dense(10, activation="tanh")(h), name="kerasio_encoder")
    pair = siamese(encoder)
    s = layers.Dense(1, activation="sigmoid")(layers.BatchNormalization()(pair.output))
    return encoder, keras.Model(pair.inputs, s, name=name)


def _check_encoder(encoder, name: str) -> keras.Model:
    if not isinstance(encoder, keras.Model) or len(encoder.inputs) != 1:
        raise TypeError(f"{name} must be a one-input keras.Model (an encoder), got "
                        f"{type(encoder).__name__}")
    return encoder


def ensemble(encoders, name: str = "ensemble") -> keras.Model:
    """One encoder made of several: its embedding is their embeddings side by side.

    The squared Euclidean distance between two such embeddings is the sum of the members'
    squared distances, so a nearest-neighbour rule on it lets every member vote by its distance.

    Args:
        encoders: a list of two or more one-input ``keras.Model`` with one input shape and
            distinct names (give each a ``name`` when you build it).
        name: the model's name.

    Returns:
        A functional ``keras.Model`` from one image to the concatenated embeddings.

    Raises:
        TypeError: ``encoders`` not a list of one-input Models.
        ValueError: fewer than two encoders, the same encoder twice, different input shapes or
            repeated names.
    """
    if not isinstance(encoders, (list, tuple)):
        raise TypeError(f"encoders must be a list of keras.Model, got {type(encoders).__name__}")
    members = [_check_encoder(e, f"encoders[{i}]") for i, e in enumerate(encoders)]
    if len(members) < 2:
        raise ValueError(f"encoders must hold at least two models, got {len(members)}")
    if len({id(m) for m in members}) != len(members):
        raise ValueError("encoders holds the same model twice")
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise ValueError(f"encoders must have distinct names, got {names}")
    shapes = {tuple(m.input_shape[1:]) for m in members}
    if len(shapes) != 1:
        raise ValueError(f"encoders must share one input shape, got {sorted(shapes)}")
    inputs = keras.Input(shape=shapes.pop(), name="image")
    outputs = layers.Concatenate(name="embeddings")([m(inputs) for m in members])
    return keras.Model(inputs, outputs, name=name)


def shift_averaged(encoder: keras.Model, max_shift: int = 1,
                   name: str = "shift_averaged") -> keras.Model:
    """Test-time augmentation: the mean embedding of an image and of copies of it moved by
    ``1..max_shift`` pixels up, down, left and right (``4 * max_shift + 1`` views).

    Args:
        encoder: a one-input ``keras.Model`` whose input is images (H, W) or (H, W, C).
        max_shift: the largest move in pixels, an int >= 1.
        name: the model's name.

    Returns:
        A functional ``keras.Model`` with the encoder's input and output shapes.

    Raises:
        TypeError: ``encoder`` not a one-input Model, a non-int ``max_shift``.
        ValueError: ``max_shift`` < 1, or an encoder whose input is not images.
    """
    encoder = _check_encoder(encoder, "encoder")
    max_shift = checks.positive_int(max_shift, "max_shift")
    shape = tuple(encoder.input_shape[1:])
    if len(shape) not in (2, 3):
        raise ValueError(f"encoder must take images (H, W) or (H, W, C), its input is {shape}")
    offsets = [(0, 0)] + [o for k in range(1, max_shift + 1)
                          for o in ((k, 0), (-k, 0), (0, k), (0, -k))]
    inputs = keras.Input(shape=shape, name="image")
    views = ShiftedViews(offsets, name="shifted_views")(inputs)
    outputs = ViewMean(len(offsets), name="view_mean")(encoder(views))
    return keras.Model(inputs, outputs, name=name)


BACKBONES = ("MobileNetV3Small", "EfficientNetV2B0")
BACKBONE_LAYER = "backbone"


def pretrained_encoder(input_shape=(64, 64, 3), embedding_dim: int = 64,
                       backbone: str = "MobileNetV3Small", weights: str | None = "imagenet",
                       trainable: bool = False, name: str = "pretrained_encoder",
                       normalize: bool = True) -> keras.Model:
    """An encoder on a ``keras.applications`` backbone, with the backbone's own preprocessing.

    The model takes images with values in [0, 1] (what the course's loaders give), scales them to
    the 0-255 range both backbones expect and lets the backbone's built-in preprocessing
    (``include_preprocessing=True``) do the rest; a single-channel image is repeated to three
    channels. The backbone runs in inference mode (``training=False``), so its batch-norm
    statistics stay the ImageNet ones even when fine-tuned. Global average pooling and a linear
    ``embedding`` layer follow, then (``normalize=True``, the default) a
    ``keras.layers.UnitNormalization`` that scales each embedding to length 1, as the course's
    own encoders do, so that a triplet margin means the same for both.

    Recipe (two phases): build with ``trainable=False`` (the default), compile and fit (only the
    embedding layer learns); then ``set_backbone_trainable(encoder, True)`` (or ``last=N`` for
    the top N layers), compile again with a learning rate about 10x lower, and fit again.

    Args:
        input_shape: ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)``, each side >= 32.
        embedding_dim: the embedding's size, an int >= 1.
        backbone: one of ``BACKBONES``.
        weights: ``"imagenet"`` (downloaded once into ``~/.keras/models``) or ``None`` (random
            initialisation: offline, and in tests).
        trainable: whether the backbone's weights learn from the start, a bool.
        name: the model's name.
        normalize: end with unit-length embeddings, a bool.

    Returns:
        A functional ``keras.Model`` from one image to its embedding; the backbone is its layer
        named ``"backbone"``.

    Raises:
        TypeError: a bad shape type, a non-bool ``trainable``.
        ValueError: an unknown backbone or weights, a side < 32, a channel count other than 1
            or 3.
        RuntimeError: the ImageNet weights could not be downloaded (the message names the file
            and the ways on: a network, the file in ``~/.keras/models``, or ``weights=None``).
    """
    shape = _check_shape(input_shape)
    backbone = checks.one_of(backbone, "backbone", BACKBONES)
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None, got {weights!r}")
    trainable = checks.boolean(trainable, "trainable")
    normalize = checks.boolean(normalize, "normalize")
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3 or shape[2] not in (1, 3):
        raise ValueError(f"input_shape must be (H, W), (H, W, 1) or (H, W, 3), got {shape}")
    if min(shape[:2]) < 32:
        raise ValueError(f"input_shape {shape} is too small for {backbone}: each side must be "
                         f"at least 32")
    build = getattr(keras.applications, backbone)
    try:
        with warnings.catch_warnings():
            # Keras warns that an input other than 224x224 gets the weights trained at
            # 224x224: expected here (the convolutions apply at any size), so not shown.
            warnings.filterwarnings("ignore", message=r".*input_shape. is undefined or non-square")
            net = build(input_shape=(*shape[:2], 3), include_top=False, weights=weights,
                        include_preprocessing=True, name=BACKBONE_LAYER)
    except Exception as err:  # the download raises several kinds (URLError, Exception, OSError)
        if weights is None:
            raise
        raise RuntimeError(
            f"could not download the ImageNet weights of {backbone} ({type(err).__name__}: "
            f"{err}). With a network (e.g. Colab) this works; offline, copy the weights file "
            f"into ~/.keras/models/, or pass weights=None to train the same network from "
            f"random weights (then it is no longer pretrained).") from err
    net.trainable = trainable
    inputs = keras.Input(shape=shape, name="image")
    x = layers.Rescaling(255.0)(inputs)
    if shape[2] == 1:
        x = layers.Concatenate()([x, x, x])
    x = net(x, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(_check_dim(embedding_dim), name="embedding")(x)
    if normalize:
        outputs = layers.UnitNormalization(name="unit_length")(outputs)
    return keras.Model(inputs, outputs, name=name)


def set_backbone_trainable(encoder: keras.Model, trainable: bool = True,
                           last: int | None = None) -> int:
    """Freeze or unfreeze the backbone of a :func:`pretrained_encoder` (the fine-tuning phase).

    Compile the model again afterwards: Keras reads ``trainable`` when it compiles. Batch-norm
    layers stay frozen (their statistics are ImageNet's), as the Keras transfer-learning guide
    recommends.

    Args:
        encoder: a model built by :func:`pretrained_encoder`.
        trainable: unfreeze (True) or freeze (False) the backbone, a bool.
        last: with ``trainable=True``, unfreeze only the last ``last`` layers of the backbone
            (an int >= 1); ``None`` unfreezes them all.

    Returns:
        The number of backbone weight tensors that now learn.

    Raises:
        TypeError: ``encoder`` not a Keras model, a non-bool ``trainable``, a non-int ``last``.
        ValueError: ``encoder`` has no layer named ``"backbone"``.
    """
    if not isinstance(encoder, keras.Model):
        raise TypeError(f"encoder must be a keras.Model, got {type(encoder).__name__}")
    trainable = checks.boolean(trainable, "trainable")
    if last is not None:
        last = checks.positive_int(last, "last")
    try:
        net = encoder.get_layer(BACKBONE_LAYER)
    except ValueError:
        raise ValueError(f"encoder {encoder.name!r} has no layer named {BACKBONE_LAYER!r}; "
                         f"build it with pretrained_encoder") from None
    net.trainable = trainable
    if trainable:
        chosen = net.layers if last is None else net.layers[-last:]
        for layer in net.layers:
            layer.trainable = layer in chosen and not isinstance(
                layer, layers.BatchNormalization)
    return len(net.trainable_weights)


def _batch_norm_layers(model) -> list:
    """Every ``BatchNormalization`` layer of ``model``, nested models included, once each."""
    found, seen = [], set()

    def walk(layer):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        if isinstance(layer, layers.BatchNormalization):
            found.append(layer)
        for inner in getattr(layer, "layers", ()):
            walk(inner)

    walk(model)
    return found


def refresh_batch_norm(model: keras.Model, images, batch_size: int = 512, seed: int = 0) -> int:
    """Re-estimate the moving statistics of every batch-norm layer of ``model`` from ``images``.

    A batch-norm layer scores with moving averages of the batch statistics it saw in training
    (momentum 0.99: after ``s`` steps the initial statistics still weigh ``0.99**s``, 25% after
    136 steps). A short run is therefore scored with statistics that partly describe a net
    that no longer exists. This sets each layer's moving mean and variance to the statistics
    of one batch of ``batch_size`` images drawn from ``images`` (without replacement, seeded),
    passed through the model in training mode, so that every layer sees the inputs it sees in
    training. The weights are not changed. A model without batch norm is left as it is.

    Args:
        model: a Keras model (its nested models are searched too).
        images: training images in the model's input shape (N, ...), numeric.
        batch_size: how many images to estimate from, an int >= 2 (all of them when N is
            smaller).
        seed: an int >= 0, which images are drawn.

    Returns:
        The number of batch-norm layers refreshed (0: nothing to do).

    Raises:
        TypeError: ``model`` not a Keras model, non-numeric images, a non-int batch_size.
        ValueError: ``batch_size`` < 2, fewer than 2 images.
    """
    model = _check_encoder(model, "model")
    x = checks.float_array(images, "images")
    batch_size = checks.integer(batch_size, "batch_size", minimum=2)
    if len(x) < 2:
        raise ValueError(f"images must hold at least 2 images to estimate statistics from, "
                         f"got {len(x)}")
    bn = _batch_norm_layers(model)
    if not bn:
        return 0
    rng = np.random.default_rng(checks.seed(seed))
    batch = x[rng.choice(len(x), min(batch_size, len(x)), replace=False)]
    momenta = [layer.momentum for layer in bn]
    try:
        for layer in bn:
            layer.momentum = 0.0          # the moving averages become this batch's statistics
        model(batch, training=True)
    finally:
        for layer, momentum in zip(bn, momenta):
            layer.momentum = momentum
    return len(bn)
