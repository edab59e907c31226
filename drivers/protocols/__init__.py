"""Pure protocol codecs: bytes and topics in, events out; no transport imports."""
