"""The Keras 3 CCT of seed 002 (keras.io "Compact Convolutional Transformers"), rebuilt from the
seed's description for the parity tests: Rescaling(1/255) -> two tokenizer stages (Conv2D 3x3
"valid", no bias, ReLU; ZeroPadding2D(1); MaxPooling2D(3, 2, "same")) -> learnable position
embedding -> 2 pre-norm blocks (MultiHeadAttention(num_heads=2, key_dim=128), stochastic depth,
GELU MLP 128-128) -> LayerNorm -> sequence pooling -> Dense(num_classes).

The random crop and flip of the seed's augmentation are inactive at inference (the crop is 32 of
32) and left out. Import it only after ``KERAS_BACKEND`` is set (``build_keras_cct`` does it).
"""

import os

import numpy as np


def _layers():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    from keras import layers

    class CCTTokenizer(layers.Layer):
        def __init__(self, widths=(64, 128), **kwargs):
            super().__init__(**kwargs)
            self.conv_model = keras.Sequential()
            for width in widths:
                self.conv_model.add(layers.Conv2D(width, 3, 1, padding="valid", use_bias=False,
                                                  activation="relu", kernel_initializer="he_normal"))
                self.conv_model.add(layers.ZeroPadding2D(1))
                self.conv_model.add(layers.MaxPooling2D(3, 2, "same"))

        def call(self, images):
            out = self.conv_model(images)
            shape = keras.ops.shape(out)
            return keras.ops.reshape(out, (-1, shape[1] * shape[2], shape[-1]))

    class PositionEmbedding(layers.Layer):
        def __init__(self, sequence_length, **kwargs):
            super().__init__(**kwargs)
            self.sequence_length = sequence_length

        def build(self, input_shape):
            self.position_embeddings = self.add_weight(
                name="embeddings", shape=[self.sequence_length, input_shape[-1]],
                initializer="glorot_uniform", trainable=True)

        def call(self, inputs):
            return keras.ops.broadcast_to(self.position_embeddings, keras.ops.shape(inputs))

    class SequencePooling(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.attention = layers.Dense(1)

        def call(self, x):
            weights = keras.ops.transpose(keras.ops.softmax(self.attention(x), axis=1), (0, 2, 1))
            return keras.ops.squeeze(keras.ops.matmul(weights, x), -2)

    class StochasticDepth(layers.Layer):
        def __init__(self, drop_prob, **kwargs):
            super().__init__(**kwargs)
            self.drop_prob = drop_prob
            self.seed_generator = keras.random.SeedGenerator(1337)

        def call(self, x, training=None):
            if not training:
                return x
            keep = 1 - self.drop_prob
            shape = (keras.ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
            mask = keras.ops.floor(keep + keras.random.uniform(shape, 0, 1, seed=self.seed_generator))
            return x / keep * mask

    return keras, layers, CCTTokenizer, PositionEmbedding, SequencePooling, StochasticDepth


def build_keras_cct(num_classes=10, image_size=32, dim=128, num_heads=2, depth=2,
                    stochastic_depth_rate=0.1):
    """The seed's ``create_cct_model()`` (Keras 3, functional); input raw pixels ``[N, H, W, 3]``."""
    keras, layers, CCTTokenizer, PositionEmbedding, SequencePooling, StochasticDepth = _layers()
    inputs = layers.Input((image_size, image_size, 3))
    tokens = CCTTokenizer()(layers.Rescaling(1.0 / 255)(inputs))
    tokens = tokens + PositionEmbedding(tokens.shape[1])(tokens)
    for rate in np.linspace(0, stochastic_depth_rate, depth):
        x1 = layers.LayerNormalization(epsilon=1e-5)(tokens)
        attention = layers.MultiHeadAttention(num_heads=num_heads, key_dim=dim, dropout=0.1)(x1, x1)
        x2 = layers.Add()([StochasticDepth(rate)(attention), tokens])
        x3 = layers.LayerNormalization(epsilon=1e-5)(x2)
        for units in (dim, dim):
            x3 = layers.Dense(units, activation=keras.ops.gelu)(x3)
            x3 = layers.Dropout(0.1)(x3)
        tokens = layers.Add()([StochasticDepth(rate)(x3), x2])
    pooled = SequencePooling()(layers.LayerNormalization(epsilon=1e-5)(tokens))
    return keras.Model(inputs=inputs, outputs=layers.Dense(num_classes)(pooled))
