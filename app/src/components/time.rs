//! Dates and times: rendered in UTC by the server (it does not know the reader's zone), then,
//! where JavaScript runs, rewritten in the browser's own locale and time zone by
//! `Intl.DateTimeFormat` (the [`LocalTimes`] island). The `<time datetime>` attribute and the UTC
//! `title` stay, for machines and for the curious.

use leptos::prelude::*;

use crate::components::islands::LocalTimes;
use crate::i18n::t;

/// A moment, shown with its date (`time_only` for today's clock times, as on the status page).
#[component]
pub fn LocalTime(unix_ms: i64, #[prop(optional)] time_only: bool) -> impl IntoView {
    let utc = if time_only {
        format_utc_time(unix_ms)
    } else {
        format_utc_date_time(unix_ms.div_euclid(1000))
    };
    // Each date brings a `LocalTimes` island (an empty element; the first to wake rewrites every
    // date, the others find nothing left), except inside another island, which localises its
    // own dates (below): an island within an island is no island of its own.
    let in_island = use_context::<leptos::reactive::owner::IsHydrating>().is_some_and(|h| h.0);
    // Inside an island (the status check's answer) the island localises its own dates.
    #[cfg(feature = "hydrate")]
    let text = {
        let (text, set_text) = signal(utc.clone());
        Effect::new(move |_| {
            if let Some(local) = browser_text(unix_ms, time_only) {
                set_text.set(local);
            }
        });
        text
    };
    #[cfg(not(feature = "hydrate"))]
    let text = utc.clone();
    view! {
        <time datetime=iso_8601(unix_ms) title=utc data-local=unix_ms
            data-time-only=time_only.then_some("")>{text}</time>
        {(!in_island).then(|| view! { <LocalTimes /> })}
    }
}

/// "Added … · last used …" (or "never used") under a phone or a remembered browser, on the
/// security and admin pages.
pub fn phone_dates(added_at: Option<i64>, last_used_at: Option<i64>) -> impl IntoView {
    view! {
        {t("security.added")} " "
        {match added_at {
            Some(at) => view! { <LocalTime unix_ms=at * 1000 /> }.into_any(),
            None => "—".into_any(),
        }}
        " · "
        {match last_used_at {
            Some(at) => view! { {t("security.last_used")} " " <LocalTime unix_ms=at * 1000 /> }.into_any(),
            None => t("security.never_used").into_any(),
        }}
    }
}

/// `unix_ms` in the browser's locale and zone.
#[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
pub(crate) fn browser_text(unix_ms: i64, time_only: bool) -> Option<String> {
    use wasm_bindgen::JsValue;
    let options = js_sys::Object::new();
    let set = |key: &str, value: &str| js_sys::Reflect::set(&options, &key.into(), &value.into());
    let styles = if time_only {
        [("timeStyle", "medium")].as_slice()
    } else {
        [("dateStyle", "medium"), ("timeStyle", "short")].as_slice()
    };
    for (key, value) in styles {
        set(key, value).ok()?;
    }
    // No locales: the browser's own preference, as the person set it up.
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &options);
    let date = js_sys::Date::new(&JsValue::from_f64(unix_ms as f64));
    format.format().call1(&JsValue::NULL, &date).ok()?.as_string()
}

/// Year, month, day, hour, minute, second (UTC) of Unix seconds, by the civil-from-days
/// algorithm: no date library in the wasm.
fn civil(unix_secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, secs / 3600, secs % 3600 / 60, secs % 60)
}

/// `HH:MM:SS UTC`.
pub fn format_utc_time(unix_ms: i64) -> String {
    let (_, _, _, h, m, s) = civil(unix_ms.div_euclid(1000));
    format!("{h:02}:{m:02}:{s:02} UTC")
}

/// `YYYY-MM-DD HH:MM UTC` from Unix seconds.
pub fn format_utc_date_time(unix_secs: i64) -> String {
    let (y, mo, d, h, mi, _) = civil(unix_secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC")
}

/// `YYYY-MM-DDTHH:MM:SSZ`, for `<time datetime>`.
fn iso_8601(unix_ms: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix_ms.div_euclid(1000));
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

#[cfg(all(feature = "hydrate", not(target_arch = "wasm32")))]
pub(crate) fn browser_text(_unix_ms: i64, _time_only: bool) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day() {
        assert_eq!(format_utc_time(0), "00:00:00 UTC");
        assert_eq!(format_utc_time(86_399_999), "23:59:59 UTC");
        assert_eq!(format_utc_time(1_700_000_000_000), "22:13:20 UTC");
    }

    #[test]
    fn dates_across_leap_years_and_eras() {
        assert_eq!(format_utc_date_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc_date_time(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(format_utc_date_time(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_utc_date_time(1_798_761_599), "2026-12-31 23:59 UTC");
        assert_eq!(format_utc_date_time(-1), "1969-12-31 23:59 UTC");
        assert_eq!(iso_8601(1_700_000_000_123), "2023-11-14T22:13:20Z");
    }
}
