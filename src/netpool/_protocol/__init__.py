"""Wire protocol: plain-data envelopes (messages), payload codec, and the handshake."""
