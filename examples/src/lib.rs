//! Shared helpers for the examples in `examples/examples/`.
