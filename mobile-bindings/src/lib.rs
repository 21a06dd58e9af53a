//! mobile-bindings
