//! Anything typed as a one-time code: exactly the configured number of ASCII digits, or refused.
#![no_main]

use domain::codes::OtpCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    for length in [6u8, 8, 10] {
        if let Ok(code) = OtpCode::parse(input, length) {
            assert_eq!(code.expose().len(), usize::from(length));
            assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
        }
    }
});
