//! The shape every checker protocol shares: a sans-IO conversation.
//!
//! The driver opens the connection (or socket), calls
//! [`Conversation::handle_connected`], writes whatever
//! [`Conversation::poll_transmit`] returns, feeds received bytes (a stream
//! chunk, or one datagram) to [`Conversation::handle_data`] and the end of
//! stream to [`Conversation::handle_eof`], until [`Conversation::verdict`]
//! is `Some`. It then drains `poll_transmit` once more (e.g. SMTP `QUIT`),
//! closes, and reports the verdict to the engine. Timeouts are the engine's
//! job: a peer that drips bytes slowly or never answers is failed by the
//! engine's probe timeout, and the conversation only guarantees that the
//! memory it holds stays under its configured caps ([`Conversation::buffered`]).

use crate::verdict::Verdict;

/// A checker protocol conversation: bytes in, bytes out, one verdict.
pub trait Conversation {
    /// The transport is up (TCP connected, TLS handshake done by the driver).
    fn handle_connected(&mut self) {}

    /// Next bytes to send, if any.
    fn poll_transmit(&mut self) -> Option<Vec<u8>>;

    /// Bytes received from the peer (a stream chunk or one datagram).
    /// Ignored once a verdict exists.
    fn handle_data(&mut self, data: &[u8]);

    /// The peer closed its side (TCP FIN). Ignored once a verdict exists.
    fn handle_eof(&mut self);

    /// The verdict, once reached; it never changes afterwards.
    fn verdict(&self) -> Option<Verdict>;

    /// Bytes currently buffered from the peer (bounded by the caps).
    fn buffered(&self) -> usize;
}
