//! Anything typed or stored as a phone number: parsed or refused, never a panic; what is
//! accepted is canonical E.164 that reads back the same.
#![no_main]

use domain::phone::PhonePolicy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let policy = PhonePolicy::new("US", &[]).expect("policy");
    if let Ok(n) = policy.parse(input) {
        assert!(n.as_str().starts_with('+'));
        assert_eq!(PhonePolicy::from_directory(n.as_str()).as_ref(), Some(&n));
        assert_eq!(PhonePolicy::from_directory(n.digits()).as_ref(), Some(&n));
    }
    for region in ["GB", "FR", "xx", ""] {
        let _ = policy.parse_in(input, region);
    }
    if let Some(n) = PhonePolicy::from_directory(input) {
        assert!(n.as_str().starts_with('+'));
    }
});
