//! Random input sequences through the neighbour cache (the fuzz driver
//! `arp::fuzzing::neighbor_cache`, which checks invariants after every
//! step), plus a structured generator of plausible traffic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::unchecked_time_subtraction,
    reason = "test code"
)]

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_keep_invariants(data in proptest::collection::vec(any::<u8>(), 0..1500)) {
        if let Err(violation) = arp::fuzzing::neighbor_cache(&data) {
            prop_assert!(false, "{}", violation);
        }
    }

    /// A realistic configuration (Linux defaults, small table and queue)
    /// followed by random operations.
    #[test]
    fn random_operations_on_a_realistic_config_keep_invariants(
        ops in proptest::collection::vec(any::<u8>(), 0..3000)
    ) {
        // Decoded by the driver as: gc_thresh 3/6/10, arp_accept 1, seed 7,
        // base_reachable_time 30 s, retrans 1 s, delay 5 s, probes 3/0/3/0,
        // gc_stale_time 60 s, unres_qlen 4 / 200 bytes, locktime 1 s.
        let mut data = vec![3, 3, 4, 0x01, 0, 0, 0, 7, 0x75, 0x30, 99, 100, 3, 0, 3, 0, 0xea, 0x60, 4, 200, 0x03, 0xe8];
        data.extend_from_slice(&ops);
        if let Err(violation) = arp::fuzzing::neighbor_cache(&data) {
            prop_assert!(false, "{}", violation);
        }
    }
}
