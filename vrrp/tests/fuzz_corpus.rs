//! Replays every committed fuzz corpus file (`fuzz/corpus/vrrp_*/*`)
//! through the same entry points the cargo-fuzz targets call, so a crash
//! found once stays fixed, then sweeps seeded mutations of them
//! (see `testkit::corpus`).

use testkit::corpus::{mutations, replay};

#[test]
fn vrrp_packet_corpus() {
    replay("vrrp_packet", vrrp::fuzzing::packet);
}

#[test]
fn vrrp_router_corpus() {
    replay("vrrp_router", vrrp::fuzzing::router);
}

#[test]
fn vrrp_packet_mutations() {
    mutations("vrrp_packet", vrrp::fuzzing::packet, 0x5eed, 20_000);
}

#[test]
fn vrrp_router_mutations() {
    mutations("vrrp_router", vrrp::fuzzing::router, 0x5eed, 3_000);
}
