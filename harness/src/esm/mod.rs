//! Event source mappings (placeholder).
