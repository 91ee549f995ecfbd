//! The Twilio adapter against the local stand-in, and both against Twilio's own OpenAPI
//! description of the Messages resource (`tests/twilio-openapi/messages-openapi.json`, a copy kept
//! in the repository with its licence).

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
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/twilio-openapi/messages-openapi.json");
    serde_json::from_str(
        &std::fs::read_to_string(path).expect("tests/twilio-openapi/messages-openapi.json"),
    )
    .unwrap()
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
