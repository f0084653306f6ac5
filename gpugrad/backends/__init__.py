"""Compute backends: each exposes the kernel-layer functions of notes/interface.md."""
