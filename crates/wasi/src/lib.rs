//! WASI preview 1 for waven (being written).
