"""The interactive network: model, inputs and engine."""
