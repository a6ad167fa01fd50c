//! Gratuitous ARP / unsolicited NA announcer (in progress).
