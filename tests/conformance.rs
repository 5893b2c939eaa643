//! Conformance tests generated from the specs: every backbone preset, head and block builds,
//! runs forward and matches the shapes its spec declares.

include!(concat!(env!("OUT_DIR"), "/conformance_tests.rs"));
