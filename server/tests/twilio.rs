//! The Twilio adapter against the local stand-in, and both against Twilio's own OpenAPI
//! description of the Messages and Calls resources (`tests/twilio-openapi/messages-openapi.json`
//! and `calls-openapi.json`, copies kept in the repository with their licence).

use std::time::Duration;

use devkit::twilio_standin::{Fault, StandinAccount, TwilioStandin};
use domain::phone::{E164, PhonePolicy};
use domain::{ports::SmsSender, sms::SmsError};
use secrecy::SecretString;
use serde_json::Value;
use server::config::TwilioConfig;
use server::sms::TwilioSender;

fn config(standin: &TwilioStandin) -> TwilioConfig {
    TwilioConfig {
        account_sid: standin.account.account_sid.clone(),
        auth_token: Some(SecretString::from(standin.account.auth_token.clone())),
        api_key_sid: String::new(),
        api_key_secret: None,
        from: "+15017122661".into(),
        messaging_service_sid: String::new(),
        base_url: standin.url.clone(),
        timeout_secs: 2,
        ..TwilioConfig::default()
    }
}

/// reqwest is built without a default TLS provider: the process installs *ring* first.
fn http_client() -> reqwest::Client {
    server::sms::install_crypto_provider();
    reqwest::Client::new()
}

fn sender(cfg: &TwilioConfig) -> TwilioSender {
    TwilioSender::new(cfg).unwrap().with_retry_pause(Duration::from_millis(50))
}

fn to(n: &str) -> E164 {
    PhonePolicy::from_directory(n).unwrap()
}

#[tokio::test]
async fn a_text_reaches_the_standin_with_every_field() {
    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    let sent = sender(&config(&standin))
        .send(&to("+12015550123"), "Your code is 123456", 300)
        .await
        .unwrap();
    let texts = standin.texts();
    assert_eq!(texts.len(), 1);
    let t = &texts[0];
    assert_eq!(sent.provider_id, t.sid);
    assert!(t.sid.starts_with("SM"));
    assert_eq!(t.to, "+12015550123");
    assert_eq!(t.from.as_deref(), Some("+15017122661"));
    assert_eq!(t.body, "Your code is 123456");
    assert_eq!(t.validity_period, Some(300), "ValidityPeriod equals the code lifetime");
}

#[tokio::test]
async fn api_keys_and_messaging_services_work_too() {
    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    let (key, secret) = standin.account.api_key.clone().unwrap();
    let cfg = TwilioConfig {
        auth_token: None,
        api_key_sid: key,
        api_key_secret: Some(SecretString::from(secret)),
        from: String::new(),
        messaging_service_sid: format!("MG{}", "2c".repeat(16)),
        ..config(&standin)
    };
    sender(&cfg).send(&to("+12015550123"), "hello", 60).await.unwrap();
    let t = &standin.texts()[0];
    assert_eq!(t.from, None);
    assert_eq!(t.messaging_service_sid, cfg.messaging_service_sid.clone().into());
    assert!(sender(&cfg).verify_credentials().await.unwrap().contains("messaging service"));
}

#[tokio::test]
async fn magic_numbers_map_to_their_errors() {
    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    let s = sender(&config(&standin));
    for (number, expected) in [
        ("+15005550001", SmsError::InvalidNumber),
        ("+15005550003", SmsError::RegionNotEnabled),
        ("+15005550004", SmsError::OptedOut),
        ("+15005550009", SmsError::NotMobile),
    ] {
        assert_eq!(s.send(&to(number), "x", 60).await.unwrap_err(), expected, "{number}");
    }
    assert!(standin.texts().is_empty());
}

#[tokio::test]
async fn every_mapped_error_code_is_recognised() {
    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    let s = sender(&config(&standin));
    for (status, code, expected) in [
        (400, 21211, SmsError::InvalidNumber),
        (400, 21408, SmsError::RegionNotEnabled),
        (400, 21608, SmsError::TrialUnverified),
        (400, 21610, SmsError::OptedOut),
        (400, 21614, SmsError::NotMobile),
        (401, 20003, SmsError::BadCredentials),
    ] {
        standin.fail_next(1, Fault::Error { status, code });
        let err = s.send(&to("+12015550123"), "x", 60).await.unwrap_err();
        assert_eq!(err, expected, "{code}");
        assert!(
            err.to_string().contains(&code.to_string()),
            "the operator line names {code}: {err}"
        );
    }
    assert!(standin.texts().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn wrong_credentials_are_reported_as_such() {
    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    let cfg = TwilioConfig {
        auth_token: Some(SecretString::from("wrong".to_owned())),
        ..config(&standin)
    };
    assert_eq!(
        sender(&cfg).send(&to("+12015550123"), "x", 60).await.unwrap_err(),
        SmsError::BadCredentials
    );
    assert_eq!(sender(&cfg).verify_credentials().await.unwrap_err(), SmsError::BadCredentials);
    assert!(sender(&config(&standin)).verify_credentials().await.is_ok());
}

#[tokio::test]
async fn a_429_is_retried_once_after_a_pause() {
    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    let s = sender(&config(&standin));
    standin.fail_next(1, Fault::Error { status: 429, code: 20429 });
    s.send(&to("+12015550123"), "x", 60).await.unwrap();
    assert_eq!(standin.requests(), 2);
    assert_eq!(standin.texts().len(), 1);

    standin.clear();
    standin.fail_next(2, Fault::Error { status: 429, code: 20429 });
    assert_eq!(s.send(&to("+12015550123"), "x", 60).await.unwrap_err(), SmsError::RateLimited);
    assert_eq!(standin.requests(), 2, "only one retry");
}

#[tokio::test]
async fn server_errors_and_timeouts_are_never_retried() {
    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    let s = sender(&config(&standin));
    standin.fail_next(1, Fault::Error { status: 500, code: 20500 });
    let err = s.send(&to("+12015550123"), "x", 60).await.unwrap_err();
    assert!(matches!(err, SmsError::Unavailable { .. }), "{err:?}");
    assert!(err.may_have_been_sent(), "so it still counts against the limits");
    assert_eq!(standin.requests(), 1);

    standin.clear();
    standin.fail_next(1, Fault::Stall { millis: 3_000 });
    let err = s.send(&to("+12015550123"), "x", 60).await.unwrap_err();
    assert_eq!(err, SmsError::Timeout { secs: 2 });
    assert!(err.may_have_been_sent());
    assert_eq!(standin.requests(), 1, "a timed-out text may have gone out: no second one");
}

/// Only Twilio's own refusals (a 4xx with its error code) and connections never made say the
/// text was not sent: those alone give the send back to the person's allowance.
#[tokio::test]
async fn refusals_say_whether_the_text_may_have_gone_out() {
    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    let s = sender(&config(&standin));
    for (status, code) in [(400, 21211), (400, 21610), (400, 21602), (401, 20003)] {
        standin.fail_next(1, Fault::Error { status, code });
        let err = s.send(&to("+12015550123"), "x", 60).await.unwrap_err();
        assert!(!err.may_have_been_sent(), "{status} {code}: {err:?}");
    }
    for (status, code) in [(500, 20500), (503, 20503)] {
        standin.fail_next(1, Fault::Error { status, code });
        let err = s.send(&to("+12015550123"), "x", 60).await.unwrap_err();
        assert!(err.may_have_been_sent(), "{status} {code}: {err:?}");
    }
    assert!(standin.texts().is_empty());
}

#[tokio::test]
async fn an_unreachable_twilio_is_unavailable() {
    let cfg = TwilioConfig {
        account_sid: format!("AC{}", "0a".repeat(16)),
        auth_token: Some(SecretString::from("t".to_owned())),
        api_key_sid: String::new(),
        api_key_secret: None,
        from: "+15017122661".into(),
        messaging_service_sid: String::new(),
        base_url: "http://127.0.0.1:1".into(),
        timeout_secs: 2,
        ..TwilioConfig::default()
    };
    let err = sender(&cfg).send(&to("+12015550123"), "x", 60).await.unwrap_err();
    assert!(matches!(err, SmsError::Unreachable { .. }), "{err:?}");
    assert!(!err.may_have_been_sent(), "no connection, no request: nothing was sent");
    assert!(!err.to_string().contains("127.0.0.1:1/2010"), "no URL in the message: {err}");
}

/// The stand-in refuses what Twilio refuses.
#[tokio::test]
async fn the_standin_checks_what_twilio_checks() {
    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    let account = &standin.account;
    let url = format!("{}/2010-04-01/Accounts/{}/Messages.json", standin.url, account.account_sid);
    let client = http_client();
    let post = |form: Vec<(&'static str, &'static str)>| {
        client
            .post(&url)
            .basic_auth(&account.account_sid, Some(&account.auth_token))
            .form(&form)
            .send()
    };
    let code = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["status"], status, "{body}");
        assert!(body["more_info"].as_str().unwrap().contains(&body["code"].to_string()));
        (status, body["code"].as_u64().unwrap())
    };
    let base = || vec![("To", "+12015550123"), ("From", "+15017122661"), ("Body", "hi")];

    let no_to: Vec<_> = base().into_iter().filter(|(k, _)| *k != "To").collect();
    assert_eq!(code(post(no_to).await.unwrap()).await, (400, 21604));
    let bad_to = vec![("To", "2015550123"), ("From", "+15017122661"), ("Body", "hi")];
    assert_eq!(code(post(bad_to).await.unwrap()).await, (400, 21211));
    let no_from = vec![("To", "+12015550123"), ("Body", "hi")];
    assert_eq!(code(post(no_from).await.unwrap()).await, (400, 21603));
    let no_body = vec![("To", "+12015550123"), ("From", "+15017122661")];
    assert_eq!(code(post(no_body).await.unwrap()).await, (400, 21602));
    let bad_validity = vec![
        ("To", "+12015550123"),
        ("From", "+15017122661"),
        ("Body", "hi"),
        ("ValidityPeriod", "0"),
    ];
    assert_eq!(code(post(bad_validity).await.unwrap()).await.0, 400);
    let long = Box::leak("x".repeat(1601).into_boxed_str());
    let too_long = vec![("To", "+12015550123"), ("From", "+15017122661"), ("Body", &*long)];
    assert_eq!(code(post(too_long).await.unwrap()).await, (400, 21617));

    let json_body = client
        .post(&url)
        .basic_auth(&account.account_sid, Some(&account.auth_token))
        .json(&serde_json::json!({"To": "+12015550123", "From": "+15017122661", "Body": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(json_body).await, (400, 21604), "JSON is not form encoding");

    let no_auth = client.post(&url).form(&base()).send().await.unwrap();
    assert_eq!(code(no_auth).await, (401, 20003));
    let other_account =
        format!("{}/2010-04-01/Accounts/AC{}/Messages.json", standin.url, "f".repeat(32));
    let wrong_account = client
        .post(other_account)
        .basic_auth(&account.account_sid, Some(&account.auth_token))
        .form(&base())
        .send()
        .await
        .unwrap();
    assert_eq!(code(wrong_account).await, (401, 20003));

    // Tests read texts the way a phone would, newest first, filtered by number.
    post(base()).await.unwrap();
    let inbox: Vec<Value> = client
        .get(format!("{}/_standin/messages?to=%2B12015550123", standin.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["body"], "hi");
}

fn openapi() -> Value {
    description("messages-openapi.json")
}

fn description(name: &str) -> Value {
    let path = format!("{}/tests/twilio-openapi/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).unwrap()
}

/// OpenAPI 3.0's `nullable: true` is not JSON Schema: turn it into a `null` type.
fn json_schema(mut v: Value) -> Value {
    match &mut v {
        Value::Object(map) => {
            let nullable = map.remove("nullable") == Some(Value::Bool(true));
            for (_, child) in map.iter_mut() {
                *child = json_schema(child.take());
            }
            if nullable {
                if let Some(Value::String(t)) = map.get("type").cloned() {
                    map.insert("type".into(), serde_json::json!([t, "null"]));
                } else if let Some(r) = map.remove("$ref") {
                    map.insert(
                        "anyOf".into(),
                        serde_json::json!([{ "$ref": r }, { "type": "null" }]),
                    );
                }
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                *item = json_schema(item.take());
            }
        }
        _ => {}
    }
    v
}

#[tokio::test]
async fn the_standin_answers_what_twilio_answers() {
    let spec = openapi();
    let schema = serde_json::json!({
        "$ref": "#/components/schemas/api.v2010.account.message",
        "components": json_schema(spec["components"].clone()),
    });
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");

    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    let account = &standin.account;
    let response: Value = http_client()
        .post(format!("{}/2010-04-01/Accounts/{}/Messages.json", standin.url, account.account_sid))
        .basic_auth(&account.account_sid, Some(&account.auth_token))
        .form(&[
            ("To", "+12015550123"),
            ("From", "+15017122661"),
            ("Body", "hi"),
            ("ValidityPeriod", "300"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let errors: Vec<String> =
        validator.iter_errors(&response).map(|e| format!("{e} at {}", e.instance_path)).collect();
    assert!(errors.is_empty(), "{errors:?}\n{response:#}");
    // Drift in the other direction: every property the schema names is present.
    let properties = spec["components"]["schemas"]["api.v2010.account.message"]["properties"]
        .as_object()
        .unwrap();
    for name in properties.keys() {
        assert!(response.get(name).is_some(), "the stand-in's answer lacks {name}");
    }
    // A schema that can fail: a wrong type is caught.
    let mut broken = response.clone();
    broken["num_segments"] = Value::from(1);
    assert!(!validator.is_valid(&broken));
}

#[tokio::test]
async fn the_client_sends_only_fields_twilio_defines() {
    let spec = openapi();
    let request = &spec["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]["post"]["requestBody"]
        ["content"]["application/x-www-form-urlencoded"]["schema"]["properties"];
    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    sender(&config(&standin)).send(&to("+12015550123"), "hello", 300).await.unwrap();
    let form = &standin.texts()[0].form;
    for (name, value) in form {
        let field = request.get(name).unwrap_or_else(|| panic!("{name} is not a Twilio field"));
        if field["type"] == "integer" {
            assert!(value.parse::<i64>().is_ok(), "{name}={value}");
        }
    }
    let names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
    for required in ["To", "Body", "ValidityPeriod"] {
        assert!(names.contains(&required), "{names:?}");
    }
}

// --- Codes by voice call (issue 21): the Calls resource ---

fn calls_openapi() -> Value {
    description("calls-openapi.json")
}

const CALLS_PATH: &str = "/2010-04-01/Accounts/{AccountSid}/Calls.json";

fn code_call(code: &str) -> domain::voice::VoiceCall {
    let code = domain::codes::OtpCode::parse(code, code.len() as u8).unwrap();
    domain::voice::code_call(&code, app::i18n::Lang::En, "Latchkey")
}

#[tokio::test]
async fn a_call_reaches_the_standin_with_every_field() {
    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    let s = sender(&config(&standin));
    assert!(s.places_calls());
    let call = code_call("481026");
    let placed = s.call(&to("+12015550123"), &call).await.unwrap();
    let calls = standin.calls();
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!(placed.provider_id, c.sid);
    assert!(c.sid.starts_with("CA") && c.sid.len() == 34, "{}", c.sid);
    assert_eq!(c.to, "+12015550123");
    assert_eq!(c.from, "+15017122661", "voice_from defaults to from");
    assert_eq!(c.twiml.as_deref(), Some(call.twiml.as_str()), "inline TwiML, as built");
    assert_eq!((c.timeout, c.time_limit), (Some(30), Some(60)), "ring and length defaults");
    assert_eq!(c.record.as_deref(), Some("false"), "never recorded");
    assert!(standin.texts().is_empty(), "a call is not a text");

    // What the phone heard: the TwiML parsed as XML, the code digit by digit, twice.
    let doc = roxmltree::Document::parse(c.twiml.as_deref().unwrap()).expect("well-formed");
    assert_eq!(doc.root_element().tag_name().name(), "Response");
    let said: Vec<&str> =
        doc.descendants().filter(|n| n.has_tag_name("Say")).filter_map(|n| n.text()).collect();
    assert_eq!(said.iter().filter(|s| s.contains("4, 8, 1, 0, 2, 6")).count(), 2, "{said:?}");
    assert!(!c.twiml.as_deref().unwrap().contains("481026"), "never the number whole");
    for element in ["Record", "Gather", "Dial", "Play", "Redirect"] {
        assert!(doc.descendants().all(|n| !n.has_tag_name(element)), "{element}");
    }
    assert_eq!(c.said.matches("4, 8, 1, 0, 2, 6").count(), 2, "{}", c.said);
    assert_eq!(standin.latest_call_to("+12015550123").unwrap().sid, c.sid);
}

#[tokio::test]
async fn calls_come_from_voice_from_and_ring_as_configured() {
    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    let cfg = TwilioConfig {
        voice_from: Some("+15017120199".into()),
        call_ring_secs: 15,
        call_time_limit_secs: 45,
        ..config(&standin)
    };
    sender(&cfg).call(&to("+12015550123"), &code_call("123456")).await.unwrap();
    let c = &standin.calls()[0];
    assert_eq!(c.from, "+15017120199");
    assert_eq!((c.timeout, c.time_limit), (Some(15), Some(45)));

    // A messaging service places no calls: nothing is attempted, and nothing rang.
    let service_only = TwilioConfig {
        from: String::new(),
        messaging_service_sid: format!("MG{}", "2c".repeat(16)),
        ..config(&standin)
    };
    let s = sender(&service_only);
    assert!(!s.places_calls());
    standin.clear();
    let err = s.call(&to("+12015550123"), &code_call("123456")).await.unwrap_err();
    assert!(!err.may_have_been_sent(), "{err:?}");
    assert!(err.to_string().contains("voice_from"), "{err}");
    assert_eq!(standin.requests(), 0);
    let with_voice = TwilioConfig { voice_from: Some("+15017120199".into()), ..service_only };
    assert!(sender(&with_voice).places_calls());
}

#[tokio::test]
async fn call_magic_numbers_map_to_their_errors() {
    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    let s = sender(&config(&standin));
    let call = code_call("123456");
    for (number, expected) in [
        ("+15005550001", SmsError::CallInvalidNumber),
        ("+15005550002", SmsError::CallUnreachable),
        ("+15005550003", SmsError::CallRegionNotEnabled),
        ("+15005550004", SmsError::CallBlocked),
    ] {
        let err = s.call(&to(number), &call).await.unwrap_err();
        assert_eq!(err, expected, "{number}");
        assert!(!err.may_have_been_sent(), "{number}: a definite refusal");
        assert!(err.message_id().starts_with("call."), "{number}: reads as a call");
    }
    // Twilio's magic From that the account does not own: the operator's caller ID problem.
    let unverified = TwilioConfig { voice_from: Some("+15005550007".into()), ..config(&standin) };
    let err = sender(&unverified).call(&to("+12015550123"), &call).await.unwrap_err();
    assert_eq!(err, SmsError::CallerIdNotVerified);
    assert_eq!(err.message_id(), "call.not_placed");
    // A trial account calling an unverified number.
    standin.fail_next(1, Fault::Error { status: 400, code: 21219 });
    let err = s.call(&to("+12015550123"), &call).await.unwrap_err();
    assert_eq!(err, SmsError::CallTrialUnverified);
    assert!(err.to_string().contains("21219"), "{err}");
    assert!(standin.calls().is_empty());
}

#[tokio::test]
async fn a_call_429_is_retried_once_and_a_5xx_or_timeout_never() {
    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    let s = sender(&config(&standin));
    let call = code_call("123456");
    standin.fail_next(1, Fault::Error { status: 429, code: 20429 });
    s.call(&to("+12015550123"), &call).await.unwrap();
    assert_eq!(standin.requests(), 2);
    assert_eq!(standin.calls().len(), 1);

    standin.clear();
    standin.fail_next(2, Fault::Error { status: 429, code: 20429 });
    assert_eq!(s.call(&to("+12015550123"), &call).await.unwrap_err(), SmsError::RateLimited);
    assert_eq!(standin.requests(), 2, "only one retry");

    standin.clear();
    standin.fail_next(1, Fault::Error { status: 503, code: 20503 });
    let err = s.call(&to("+12015550123"), &call).await.unwrap_err();
    assert!(matches!(err, SmsError::Unavailable { .. }), "{err:?}");
    assert!(err.may_have_been_sent(), "the phone may be ringing");
    assert_eq!(standin.requests(), 1);

    standin.clear();
    standin.fail_next(1, Fault::Stall { millis: 3_000 });
    let err = s.call(&to("+12015550123"), &call).await.unwrap_err();
    assert_eq!(err, SmsError::Timeout { secs: 2 });
    assert_eq!(standin.requests(), 1, "a timed-out call may be ringing: no second one");
}

#[tokio::test]
async fn the_client_places_calls_with_fields_twilio_defines() {
    let spec = calls_openapi();
    let schema = &spec["paths"][CALLS_PATH]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
        ["schema"];
    let fields = schema["properties"].as_object().unwrap();
    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    sender(&config(&standin)).call(&to("+12015550123"), &code_call("123456")).await.unwrap();
    let form = &standin.calls()[0].form;
    for (name, value) in form {
        let field = fields.get(name).unwrap_or_else(|| panic!("{name} is not a Twilio field"));
        match field["type"].as_str() {
            Some("integer") => assert!(value.parse::<i64>().is_ok(), "{name}={value}"),
            Some("boolean") => assert!(value == "true" || value == "false", "{name}={value}"),
            Some("string") => {}
            other => panic!("{name} has type {other:?}"),
        }
        if let Some(allowed) = field["enum"].as_array() {
            assert!(allowed.iter().any(|a| a == value), "{name}={value} not in {allowed:?}");
        }
        if field["format"] == "twiml" {
            assert!(value.chars().count() <= 4000, "{name}: Twilio takes 4000 characters");
        }
    }
    let names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
    for required in schema["required"].as_array().unwrap() {
        assert!(names.contains(&required.as_str().unwrap()), "{required} missing: {names:?}");
    }
    for ours in ["Twiml", "Timeout", "TimeLimit", "Record"] {
        assert!(names.contains(&ours), "{names:?}");
    }
    assert!(!names.contains(&"Url"), "inline TwiML only: no URL for Twilio to fetch");
    assert_eq!(names.len(), 6, "{names:?}");
}

#[tokio::test]
async fn the_standin_answers_calls_as_twilio_does() {
    let spec = calls_openapi();
    let schema = serde_json::json!({
        "$ref": "#/components/schemas/api.v2010.account.call",
        "components": json_schema(spec["components"].clone()),
    });
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    let account = &standin.account;
    let response = http_client()
        .post(format!("{}/2010-04-01/Accounts/{}/Calls.json", standin.url, account.account_sid))
        .basic_auth(&account.account_sid, Some(&account.auth_token))
        .form(&[
            ("To", "+12015550123"),
            ("From", "+15017122661"),
            ("Twiml", "<Response><Say>Hello</Say></Response>"),
            ("Timeout", "30"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let response: Value = response.json().await.unwrap();
    let errors: Vec<String> =
        validator.iter_errors(&response).map(|e| format!("{e} at {}", e.instance_path)).collect();
    assert!(errors.is_empty(), "{errors:?}\n{response:#}");
    let properties =
        spec["components"]["schemas"]["api.v2010.account.call"]["properties"].as_object().unwrap();
    for name in properties.keys() {
        assert!(response.get(name).is_some(), "the stand-in's answer lacks {name}");
    }
    assert_eq!(response["status"], "queued");
    assert_eq!(response["direction"], "outbound-api");
    // A schema that can fail: a status Twilio does not have, a sid that is not a call's.
    let mut broken = response.clone();
    broken["status"] = Value::from("sent");
    assert!(!validator.is_valid(&broken));
    let mut broken = response.clone();
    broken["sid"] = Value::from(format!("SM{}", "0".repeat(32)));
    assert!(!validator.is_valid(&broken));
}

/// The stand-in refuses the calls Twilio refuses, and shows what each call said.
#[tokio::test]
async fn the_standin_checks_calls_as_twilio_does() {
    let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
    let account = &standin.account;
    let url = format!("{}/2010-04-01/Accounts/{}/Calls.json", standin.url, account.account_sid);
    let client = http_client();
    let post = |form: Vec<(&'static str, String)>| {
        client
            .post(&url)
            .basic_auth(&account.account_sid, Some(&account.auth_token))
            .form(&form)
            .send()
    };
    let code = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["status"], status, "{body}");
        (status, body["code"].as_u64().unwrap())
    };
    let twiml = || "<Response><Say>Your code is 1, 2, 3.</Say></Response>".to_owned();
    let base = || {
        vec![
            ("To", "+12015550123".to_owned()),
            ("From", "+15017122661".to_owned()),
            ("Twiml", twiml()),
        ]
    };
    let without = |name: &str| base().into_iter().filter(|(k, _)| *k != name).collect::<Vec<_>>();
    let with = |extra: (&'static str, String)| {
        let mut form = base();
        form.retain(|(k, _)| *k != extra.0);
        form.push(extra);
        form
    };

    assert_eq!(code(post(without("To")).await.unwrap()).await, (400, 21201));
    assert_eq!(code(post(without("From")).await.unwrap()).await, (400, 21213), "no From");
    assert_eq!(code(post(without("Twiml")).await.unwrap()).await, (400, 21205), "nothing to say");
    let both = with(("Url", "https://example.org/twiml".into()));
    assert_eq!(code(post(both).await.unwrap()).await, (400, 21205), "both Url and Twiml");
    let malformed = with(("Twiml", "<Response><Say>1, 2</Response>".into()));
    assert_eq!(code(post(malformed).await.unwrap()).await, (400, 12100));
    let long = with(("Twiml", format!("<Response><Say>{}</Say></Response>", "1".repeat(4000))));
    assert_eq!(code(post(long).await.unwrap()).await.0, 400, "over 4000 characters");
    for (name, value) in
        [("Timeout", "0"), ("Timeout", "601"), ("TimeLimit", "0"), ("Record", "maybe")]
    {
        let bad = with((name, value.into()));
        assert_eq!(code(post(bad).await.unwrap()).await, (400, 20001), "{name}={value}");
    }
    let no_auth = client.post(&url).form(&base()).send().await.unwrap();
    assert_eq!(code(no_auth).await, (401, 20003));
    assert!(standin.calls().is_empty(), "nothing refused was placed");

    // Tests hear calls the way a phone would: newest first, by number, as what was said.
    post(with(("Timeout", "600".into()))).await.unwrap();
    let heard: Vec<Value> = client
        .get(format!("{}/_standin/calls?to=%2B12015550123", standin.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(heard.len(), 1);
    assert_eq!(heard[0]["said"], "Your code is 1, 2, 3.");
    let other: Vec<Value> = client
        .get(format!("{}/_standin/calls?to=%2B12015550999", standin.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(other.is_empty());
    assert!(standin.texts().is_empty(), "calls are not texts");
}
