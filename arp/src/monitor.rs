//! ARP link monitor (in progress).
