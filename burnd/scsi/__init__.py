"""SCSI/MMC: one Transport interface, pure CDB builders and parsers, sense decoding."""
