//! Event source mappings with Lambda's semantics.
