"""Every model the experiments use, written once.

- ``build_vae``: the Fashion-MNIST VAE of the LR-explorer document (z_dim=10); its loss is the
  negative ELBO per image in nats, so ``val_loss`` is the test NLL bound the document reports.
- ``build_cifar_resnet``: ResNet-20/56 for CIFAR (He et al. 2016, section 4.2) and the CIFAR
  variant of ResNet-34 (3x3 stem, no max-pool) used by the robust-recipe document.
- ``build_caffe_cifar10``: Caffe's ``cifar10_full`` network, the one Smith's CLR paper trains.
- ``build_plain_cnn``: a small VGG-style CNN (the warm-up AdaBound document says only "a CNN").
- ``build_mlp``: the 784-40-20-10 sigmoid MLP of the course notes (any sizes and activation).
"""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="tf_lropt_examples")
class VAE(keras.Model):
    """Gaussian-latent VAE with a Bernoulli decoder (Kingma & Welling 2014).

    Encoder 784-h-h-(mean, log variance of z), decoder z-h-h-784 logits, ReLU, h = 200: the
    network of the deep-learning course homework the explorer document starts from (the document
    fixes z_dim = 10 and the target NLL 235; the hidden width is the course's template).
    Inputs are pixel intensities in [0, 1], shape ``(N, 28, 28[, 1])`` or ``(N, 784)``; like the
    course they are not binarized, and the Bernoulli log-likelihood is the binary cross-entropy.

    loss = -ELBO = sum_i BCE(x_i, decoder(z)_i) + KL(q(z|x) || N(0, I)), z ~ q(z|x) (one sample),
    averaged over the batch, in nats per image.

    References:
        Kingma, D. P. and Welling, M. Auto-Encoding Variational Bayes. ICLR 2014.
    """

    def __init__(self, z_dim: int = 10, hidden_units: int = 200, seed: int | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.z_dim, self.hidden_units, self.seed = z_dim, hidden_units, seed
        self.encoder_hidden = [layers.Dense(hidden_units, activation="relu") for _ in range(2)]
        self.z_mean = layers.Dense(z_dim)
        self.z_log_var = layers.Dense(z_dim)
        self.decoder_hidden = [layers.Dense(hidden_units, activation="relu") for _ in range(2)]
        self.decoder_logits = layers.Dense(784)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")

    def build(self, input_shape=None):
        width = 784
        for layer in self.encoder_hidden:
            layer.build((None, width))
            width = self.hidden_units
        self.z_mean.build((None, width))
        self.z_log_var.build((None, width))
        width = self.z_dim
        for layer in self.decoder_hidden:
            layer.build((None, width))
            width = self.hidden_units
        self.decoder_logits.build((None, width))
        self.built = True

    def encode(self, x):
        h = ops.reshape(ops.cast(x, self.compute_dtype), (-1, 784))
        for layer in self.encoder_hidden:
            h = layer(h)
        return self.z_mean(h), self.z_log_var(h)

    def decode(self, z):
        for layer in self.decoder_hidden:
            z = layer(z)
        return self.decoder_logits(z)

    def call(self, x, training=False):
        mean, log_var = self.encode(x)
        noise = keras.random.normal(ops.shape(mean), seed=self.seed_generator, dtype=mean.dtype)
        logits = self.decode(mean + ops.exp(0.5 * log_var) * noise)
        return {"logits": logits, "mean": mean, "log_var": log_var}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        target = ops.reshape(ops.cast(x, "float32"), (-1, 784))
        logits = ops.cast(y_pred["logits"], "float32")
        mean = ops.cast(y_pred["mean"], "float32")
        log_var = ops.cast(y_pred["log_var"], "float32")
        # Stable Bernoulli negative log-likelihood of [0, 1] targets given logits.
        bce = ops.maximum(logits, 0.0) - logits * target + ops.log1p(ops.exp(-ops.abs(logits)))
        reconstruction = ops.mean(ops.sum(bce, axis=-1))
        kl = ops.mean(-0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1))
        loss = reconstruction + kl
        if self.losses:
            loss = loss + ops.sum(self.losses)
        self.loss_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return loss

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def get_config(self):
        return {**super().get_config(), "z_dim": self.z_dim, "hidden_units": self.hidden_units,
                "seed": self.seed}


def build_vae(z_dim: int = 10, hidden_units: int = 200, seed: int | None = None) -> VAE:
    """The explorer document's VAE, built for 28x28 inputs in [0, 1]; compile with any optimizer.

    ``model.compile(optimizer=...)`` (no loss) then ``model.fit(x_train, epochs=...,
    validation_data=(x_test,))``: ``val_loss`` is the test negative ELBO (NLL bound) in nats.
    """
    model = VAE(z_dim=z_dim, hidden_units=hidden_units, seed=seed)
    model.build()
    return model


def _conv_bn(x, filters: int, kernel: int, stride: int, weight_decay: float, relu: bool = True):
    regularizer = keras.regularizers.L2(weight_decay) if weight_decay else None
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                      kernel_initializer="he_normal", kernel_regularizer=regularizer)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(x) if relu else x


def _basic_block(x, filters: int, stride: int, weight_decay: float):
    shortcut = x
    y = _conv_bn(x, filters, 3, stride, weight_decay)
    y = _conv_bn(y, filters, 3, 1, weight_decay, relu=False)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = _conv_bn(x, filters, 1, stride, weight_decay, relu=False)
    return layers.Activation("relu")(layers.Add()([y, shortcut]))


RESNET_STAGES = {
    8: ((16, 32, 64), (1, 1, 1)),  # the smallest 6n+2 member, for smoke tests
    20: ((16, 32, 64), (3, 3, 3)),
    56: ((16, 32, 64), (9, 9, 9)),
    34: ((64, 128, 256, 512), (3, 4, 6, 3)),
}


def build_cifar_resnet(depth: int = 20, input_shape=(32, 32, 3), num_classes: int = 10,
                       width_scale: float = 1.0, weight_decay: float = 0.0) -> keras.Model:
    """ResNet-8/20/56 (6n+2 layers, 16-32-64 filters) or the CIFAR ResNet-34 (3-4-6-3 blocks).

    Shortcuts that change shape use a 1x1 convolution (He et al.'s option B) for every depth;
    the CIFAR paper's ResNet-20/56 used zero-padding (option A), which has no weights: the
    difference is a few thousand parameters. ``weight_decay`` adds an L2 kernel penalty; the
    experiments use the optimizers' decoupled ``weight_decay`` instead and leave it 0.
    ``width_scale`` shrinks every stage for quick runs.
    """
    if depth not in RESNET_STAGES:
        raise ValueError(f"depth must be one of {sorted(RESNET_STAGES)}, got {depth}")
    widths, blocks = RESNET_STAGES[depth]
    widths = [max(4, int(round(w * width_scale))) for w in widths]
    inputs = keras.Input(input_shape)
    x = _conv_bn(inputs, widths[0], 3, 1, weight_decay)
    for stage, (filters, count) in enumerate(zip(widths, blocks, strict=True)):
        for block in range(count):
            x = _basic_block(x, filters, 2 if stage > 0 and block == 0 else 1, weight_decay)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, dtype="float32")(x)
    return keras.Model(inputs, outputs, name=f"cifar_resnet{depth}")


@keras.saving.register_keras_serializable(package="tf_lropt_examples")
class WithinChannelLRN(layers.Layer):
    """Caffe's LRN, ``norm_region: WITHIN_CHANNEL``: x / (1 + alpha * mean_{k x k}(x^2))^beta."""

    def __init__(self, local_size: int = 3, alpha: float = 5e-5, beta: float = 0.75, **kwargs):
        super().__init__(**kwargs)
        self.local_size, self.alpha, self.beta = local_size, alpha, beta

    def call(self, x):
        window_mean = ops.average_pool(ops.square(x), self.local_size, strides=1, padding="same")
        return x / ops.power(1.0 + self.alpha * window_mean, self.beta)

    def get_config(self):
        return {**super().get_config(), "local_size": self.local_size, "alpha": self.alpha,
                "beta": self.beta}


def build_caffe_cifar10(input_shape=(32, 32, 3), num_classes: int = 10,
                        weight_decay: float = 0.0, caffe_fillers: bool = False,
                        bias_lr_scale: float = 1.0) -> keras.Model:
    """Caffe's ``examples/cifar10/cifar10_full`` network (the one Smith 2017 trains).

    conv5x5-32, max-pool 3/2, ReLU, LRN; conv5x5-32, ReLU, avg-pool 3/2, LRN; conv5x5-64, ReLU,
    avg-pool 3/2; dense 10. Caffe rounds pooled sizes up (32-16-8-4): "same" padding does too
    (and, like Caffe, averages over the window's pixels inside the image only).
    ``weight_decay`` is Caffe's (lambda * w added to the gradient): an L2 penalty lambda/2 |w|^2.

    ``caffe_fillers=True`` builds the prototxt's parameters as Caffe's solver sees them:
    Gaussian weights (std 0.0001 for conv1, 0.01 for conv2, conv3 and ip1), zero biases, the
    decay multipliers (1 on every convolution's weights and biases, whose ``decay_mult`` is left
    at Caffe's default; 250 on ip1's weights, 0 on its bias) and the biases' rate multipliers
    (``lr_mult`` 2 on conv1, conv2 and ip1, 1 on conv3). A rate multiplier m is a
    reparameterization b = c * b' (``ScaledBias``): with SGD, whose step is linear in the
    gradient, b moves c^2 times as far, so ``bias_lr_scale`` = sqrt(m); with Adam, RMSprop,
    AdaGrad and AdaDelta, whose step does not scale with the gradient (up to epsilon), c times,
    so ``bias_lr_scale`` = m. ``False``: Keras' default initializers, the decay on the
    weights only, no multipliers.
    """
    def regularizer(multiplier: float = 1.0, scale: float = 1.0):
        rate = weight_decay * multiplier * scale ** 2  # on b' = b / scale: lambda/2 |b|^2
        return keras.regularizers.L2(rate / 2) if rate else None

    def layer(kind, units: int, std: float, bias_lr_mult: float, weight_decay_mult: float = 1.0,
              bias_decay_mult: float = 1.0, **options):
        if not caffe_fillers:
            return [kind(units, kernel_regularizer=regularizer(), **options)]
        scale = bias_lr_scale if bias_lr_mult == 2 else 1.0
        return [kind(units, use_bias=False, kernel_initializer=keras.initializers.RandomNormal(
                    stddev=std), kernel_regularizer=regularizer(weight_decay_mult), **options),
                ScaledBias(scale, regularizer(bias_decay_mult, scale))]

    def apply(layers_, x):
        for each in layers_:
            x = each(x)
        return x

    def conv(filters: int, std: float, bias_lr_mult: float):
        return layer(layers.Conv2D, filters, std, bias_lr_mult, kernel_size=5, padding="same")

    inputs = keras.Input(input_shape)
    x = apply(conv(32, 1e-4, 2), inputs)
    x = layers.MaxPooling2D(3, 2, padding="same")(x)
    x = WithinChannelLRN()(layers.ReLU()(x))
    x = layers.ReLU()(apply(conv(32, 0.01, 2), x))
    x = WithinChannelLRN()(layers.AveragePooling2D(3, 2, padding="same")(x))
    x = layers.ReLU()(apply(conv(64, 0.01, 1), x))
    x = layers.AveragePooling2D(3, 2, padding="same")(x)
    outputs = apply(layer(layers.Dense, num_classes, 0.01, 2, weight_decay_mult=250,
                          bias_decay_mult=0, dtype="float32"), layers.Flatten()(x))
    return keras.Model(inputs, outputs, name="caffe_cifar10_full")


@keras.saving.register_keras_serializable(package="tf_lropt_examples")
class ScaledBias(layers.Layer):
    """A bias b = ``scale`` * b' added over the last axis, b' trained (zeros at the start):
    Caffe's bias ``lr_mult`` as a reparameterization (see ``build_caffe_cifar10``)."""

    def __init__(self, scale: float = 1.0, regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.regularizer = float(scale), keras.regularizers.get(regularizer)

    def build(self, input_shape):
        self.bias = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="bias",
                                    regularizer=self.regularizer)

    def call(self, x):
        return x + ops.cast(self.scale, x.dtype) * ops.cast(self.bias, x.dtype)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale,
                "regularizer": keras.regularizers.serialize(self.regularizer)}


def build_plain_cnn(input_shape=(32, 32, 3), num_classes: int = 10,
                    filters: tuple[int, ...] = (32, 64, 128), dense_units: int = 256
                    ) -> keras.Model:
    """Two 3x3 conv + BN + ReLU layers and a max-pool per stage, then dropout and a dense head."""
    inputs = keras.Input(input_shape)
    x = inputs
    for width in filters:
        for _ in range(2):
            x = layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
            x = layers.ReLU()(layers.BatchNormalization()(x))
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.5)(layers.Dense(dense_units, activation="relu")(x))
    outputs = layers.Dense(num_classes, dtype="float32")(x)
    return keras.Model(inputs, outputs, name="plain_cnn")


def build_mlp(input_shape=(28, 28, 1), hidden_units: tuple[int, ...] = (40, 20),
              num_classes: int = 10, activation: str = "sigmoid",
              kernel_initializer="glorot_uniform") -> keras.Model:
    """A fully connected net; the defaults are the course notes' 784-40-20-10 sigmoid MLP
    (which initializes weights from N(0, 0.01^2): pass ``RandomNormal(stddev=0.01)``)."""
    inputs = keras.Input(input_shape)
    x = layers.Flatten()(inputs)
    for units in hidden_units:
        x = layers.Dense(units, activation=activation, kernel_initializer=kernel_initializer)(x)
    outputs = layers.Dense(num_classes, dtype="float32", kernel_initializer=kernel_initializer)(x)
    return keras.Model(inputs, outputs, name="mlp")
