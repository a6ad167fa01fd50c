//! Neighbour cache (in progress).
