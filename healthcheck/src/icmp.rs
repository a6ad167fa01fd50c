//! keepalived PING_CHECK / Seesaw ICMP: one ICMP Echo Request (RFC 792,
//! type 8) or ICMPv6 Echo Request (RFC 4443 §4.1, type 128); the probe
//! passes on the Echo Reply carrying the same identifier, sequence number
//! and payload. Other packets (another probe's reply on a raw socket, an
//! error) are ignored; silence is failed by the engine timeout.
//!
//! Linux datagram ("ping") sockets rewrite the identifier to the socket's
//! port, so the identifier check can be switched off. IPv4 raw sockets
//! deliver the IP header: strip it with [`strip_ipv4_header`].

use std::net::Ipv6Addr;

use crate::conversation::Conversation;
use crate::verdict::Verdict;

/// Internet checksum (RFC 1071) over `parts`, as if concatenated.
pub fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &b in *part {
            match odd.take() {
                Some(hi) => sum = sum.wrapping_add(u32::from(u16::from_be_bytes([hi, b]))),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum = sum.wrapping_add(u32::from(u16::from_be_bytes([hi, 0])));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff).wrapping_add(sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0xffff)
}

/// Address family of the echo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// ICMP for IPv4.
    V4,
    /// ICMPv6; with `(source, destination)` the checksum is computed over
    /// the pseudo-header (RFC 4443 §2.3), else left 0 for the kernel.
    V6(Option<(Ipv6Addr, Ipv6Addr)>),
}

/// Builds an Echo Request.
pub fn echo_request(family: Family, ident: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let ty = match family {
        Family::V4 => 8,
        Family::V6(_) => 128,
    };
    let mut p = vec![ty, 0, 0, 0];
    p.extend_from_slice(&ident.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(payload);
    let sum = match family {
        Family::V4 => checksum(&[&p]),
        Family::V6(Some((src, dst))) => {
            let len = u32::try_from(p.len()).unwrap_or(u32::MAX).to_be_bytes();
            checksum(&[&src.octets(), &dst.octets(), &len, &[0, 0, 0, 58], &p])
        }
        Family::V6(None) => 0,
    };
    if let Some(c) = p.get_mut(2..4) {
        c.copy_from_slice(&sum.to_be_bytes());
    }
    p
}

/// The ICMP message inside an IPv4 packet (drops the IHL-sized header).
pub fn strip_ipv4_header(packet: &[u8]) -> Option<&[u8]> {
    let &vihl = packet.first()?;
    if vihl >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(vihl & 0x0f).checked_mul(4)?;
    if ihl < 20 {
        return None;
    }
    packet.get(ihl..)
}

/// One echo conversation.
#[derive(Debug)]
pub struct IcmpCheck {
    family: Family,
    ident: u16,
    seq: u16,
    payload: Vec<u8>,
    check_ident: bool,
    sent: bool,
    ignored: u64,
    verdict: Option<Verdict>,
}

impl IcmpCheck {
    /// A conversation; `check_ident` false for Linux ping sockets.
    pub fn new(family: Family, ident: u16, seq: u16, payload: Vec<u8>, check_ident: bool) -> Self {
        IcmpCheck {
            family,
            ident,
            seq,
            payload,
            check_ident,
            sent: false,
            ignored: 0,
            verdict: None,
        }
    }

    /// Packets received that were not our reply.
    pub fn ignored(&self) -> u64 {
        self.ignored
    }

    fn is_our_reply(&self, m: &[u8]) -> bool {
        let want = match self.family {
            Family::V4 => 0,
            Family::V6(_) => 129,
        };
        let Some((hdr, payload)) = m.split_first_chunk::<8>() else {
            return false;
        };
        let [ty, code, _, _, i0, i1, s0, s1] = *hdr;
        ty == want
            && code == 0
            && (!self.check_ident || u16::from_be_bytes([i0, i1]) == self.ident)
            && u16::from_be_bytes([s0, s1]) == self.seq
            && payload == self.payload.as_slice()
            && (self.family != Family::V4 || checksum(&[m]) == 0)
    }
}

impl Conversation for IcmpCheck {
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.sent {
            return None;
        }
        self.sent = true;
        Some(echo_request(
            self.family,
            self.ident,
            self.seq,
            &self.payload,
        ))
    }

    fn handle_data(&mut self, data: &[u8]) {
        if self.verdict.is_some() {
            return;
        }
        if self.is_our_reply(data) {
            self.verdict = Some(Verdict::PASS);
        } else {
            self.ignored = self.ignored.saturating_add(1);
        }
    }

    fn handle_eof(&mut self) {}

    fn verdict(&self) -> Option<Verdict> {
        self.verdict.clone()
    }

    fn buffered(&self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply_of(req: &[u8], ty: u8) -> Vec<u8> {
        let mut r = req.to_vec();
        r[0] = ty;
        r[2] = 0;
        r[3] = 0;
        let c = checksum(&[&r]);
        r[2..4].copy_from_slice(&c.to_be_bytes());
        r
    }

    #[test]
    fn v4_request_bytes_and_reply() {
        let req = echo_request(Family::V4, 0x1234, 7, b"abcd");
        // type 8, code 0, checksum, id 0x1234, seq 7, payload.
        assert_eq!(
            req,
            [8, 0, 0x20, 0xfe, 0x12, 0x34, 0, 7, b'a', b'b', b'c', b'd']
        );
        assert_eq!(checksum(&[&req]), 0);
        let mut c = IcmpCheck::new(Family::V4, 0x1234, 7, b"abcd".to_vec(), true);
        assert_eq!(c.poll_transmit(), Some(req.clone()));
        c.handle_data(&req); // our own request looped back: ignored
        let mut wrong_seq = reply_of(&req, 0);
        wrong_seq[7] = 8;
        c.handle_data(&wrong_seq);
        let mut bad_sum = reply_of(&req, 0);
        bad_sum[2] ^= 1;
        c.handle_data(&bad_sum);
        c.handle_data(&reply_of(&req, 0)[..10]);
        assert_eq!(c.verdict(), None);
        assert_eq!(c.ignored(), 4);
        c.handle_data(&reply_of(&req, 0));
        assert_eq!(c.verdict(), Some(Verdict::PASS));
    }

    #[test]
    fn v6_checksum_and_ident_rewrite() {
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let dst: Ipv6Addr = "fe80::2".parse().unwrap();
        let req = echo_request(Family::V6(Some((src, dst))), 1, 2, b"x");
        assert_eq!(req[0], 128);
        let len = u32::try_from(req.len()).unwrap().to_be_bytes();
        assert_eq!(
            checksum(&[&src.octets(), &dst.octets(), &len, &[0, 0, 0, 58], &req]),
            0
        );
        assert_eq!(&echo_request(Family::V6(None), 1, 2, b"x")[2..4], [0, 0]);
        // A ping socket rewrote the identifier to 999.
        let mut rep = req.clone();
        rep[0] = 129;
        rep[4..6].copy_from_slice(&999u16.to_be_bytes());
        let mut strict = IcmpCheck::new(Family::V6(None), 1, 2, b"x".to_vec(), true);
        strict.handle_data(&rep);
        assert_eq!(strict.verdict(), None);
        let mut lax = IcmpCheck::new(Family::V6(None), 1, 2, b"x".to_vec(), false);
        lax.handle_data(&rep);
        assert_eq!(lax.verdict(), Some(Verdict::PASS));
    }

    #[test]
    fn strips_ipv4_header() {
        let mut pkt = vec![0x45; 20];
        pkt.extend_from_slice(&[0, 0]);
        assert_eq!(strip_ipv4_header(&pkt), Some(&[0u8, 0][..]));
        assert_eq!(strip_ipv4_header(&[0x46; 10]), None);
        assert_eq!(strip_ipv4_header(&[0x44; 30]), None);
        assert_eq!(strip_ipv4_header(&[0x60; 40]), None);
    }
}
