//! Every configuration under `examples/configs/` is accepted by the node's
//! parser, so the files the README points to stay valid.
#![allow(clippy::unwrap_used, clippy::panic, reason = "test code")]

use std::path::PathBuf;

#[test]
fn example_configs_parse() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(e) = dsas_node::config::load(&path) {
                panic!("{e}");
            }
            n += 1;
        }
    }
    assert!(n >= 2, "expected example configs in {}", dir.display());
}
