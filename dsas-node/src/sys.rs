//! System interfaces (AF_PACKET sockets). The only module of dsas-node allowed `unsafe`.
