//! Conformance tests generated from the specs: every backbone preset, head and block builds,
//! runs forward and matches the shapes its spec declares, on flex or the `--device` named by
//! `ZOO_TEST_DEVICE` (the GPU job of `.ci/run`).

mod common;

use common::device;

include!(concat!(env!("OUT_DIR"), "/conformance_tests.rs"));
