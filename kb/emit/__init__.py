"""Emit stage: each emitter writes files under ctx.out and returns the paths it wrote."""
