"""The differentiable ops, one family per module; each op is a Function plus a thin wrapper."""
