//! A saved plan given to `bulkhead apply`, on arbitrary bytes: a plan or an
//! error, never a panic; a plan's own JSON always reads back as a plan
//! (not compared for equality: floats in objects may move by one ulp).
#![no_main]

use bulkhead_apply::plan_file::PlanFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = PlanFile::looks_like(data);
    if let Ok(plan) = PlanFile::parse(data) {
        let again = serde_json::to_vec(&plan).expect("a plan writes as JSON");
        assert!(PlanFile::parse(&again).is_ok());
    }
});
