"""The only code that touches sockets: framed channels, the handshake, the listener."""
