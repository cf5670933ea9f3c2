"""Bridge between paddle_conv and the upstream PyTorch projects.

``weights_bridge.references`` holds PyTorch reference models whose ``state_dict`` layout
equals the upstream projects'; each is registered under the same name as its paddle_conv
model, so ``create_reference("oct_resnet50")`` pairs with ``create_model("oct_resnet50")``.
"""
