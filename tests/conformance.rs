//! Conformance tests generated from the specs: every backbone preset, head and block builds,
//! runs forward and matches the shapes its spec declares, on flex or the `--device` named by
//! `ZOO_TEST_DEVICE` (the GPU job, `scripts/test-gpu.sh`: there the smallest preset of each
//! spec, as every new kernel shape costs a shader compilation). Each test waits for the device
//! to finish its queued work: a GPU process that exits with kernels still compiling can crash
//! in the driver's exit handlers (README "GPU").

mod common;

use common::device;

fn scope() -> zoo::model::conformance::PresetScope {
    if common::device_name() == "flex" {
        zoo::model::conformance::PresetScope::Every
    } else {
        zoo::model::conformance::PresetScope::Smallest
    }
}

include!(concat!(env!("OUT_DIR"), "/conformance_tests.rs"));
