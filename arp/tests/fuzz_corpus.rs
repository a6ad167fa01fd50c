//! Replays every committed fuzz corpus file (`fuzz/corpus/<target>/*`)
//! through the same entry points the cargo-fuzz targets call, so a crash
//! found once stays fixed (see `testkit::corpus`).

use testkit::corpus::replay;

#[test]
fn arp_frame_corpus() {
    replay("arp_frame", arp::fuzzing::arp_frame);
}

#[test]
fn neighbor_cache_corpus() {
    replay("neighbor_cache", arp::fuzzing::neighbor_cache);
}

#[test]
fn announcer_corpus() {
    replay("announcer", arp::fuzzing::announcer);
}

#[test]
fn arp_monitor_corpus() {
    replay("arp_monitor", arp::fuzzing::arp_monitor);
}
