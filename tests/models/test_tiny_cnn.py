"""tiny_cnn: registered, width scales channels, stride 32."""

import paddle

import paddle_conv as pc


def test_tiny_cnn_shapes_and_width():
    model = pc.create_model("tiny_cnn", num_classes=7, width=0.5)
    assert model(paddle.randn([2, 3, 64, 48])).shape == [2, 7]
    assert model.stages[-1][0][0].weight.shape[0] == 128
    small = sum(p.size for p in model.parameters())
    assert small < sum(p.size for p in pc.create_model("tiny_cnn", num_classes=7).parameters())
