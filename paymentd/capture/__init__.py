"""The payment dialogue as a pure state machine: typed inputs in, typed actions out."""
