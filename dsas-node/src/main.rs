//! `dsas-node`: the reference node binary.

fn main() {}
