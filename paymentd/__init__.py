"""paymentd: a PCI-minded payment-capture IVR for FreeSWITCH."""

__version__ = "0.1.0"
