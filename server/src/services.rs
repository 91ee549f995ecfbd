//! Service wiring, in one place and built once: from the configuration, the database and the
//! directory, every port (measured by the metrics decorators), the code hasher, the phone
//! policy, the throttle rules and each domain service is constructed exactly once and shared.
//! The result is the [`AppState`] that pages and server functions reach; the router
//! (`http.rs`) only adds routes and middleware around it.

use std::sync::Arc;
use std::time::Duration;

use domain::admin::{AdminParts, AdminService};
use domain::client_ip::IpRange;
use domain::codes::{CodeEngine, CodeHasher};
use domain::ports::AuditLog;
use domain::ports::Directory;
use domain::ports::SmsSender;
use domain::security::{SecurityParts, SecurityService, SecuritySettings};
use domain::sessions::SessionGuard;
use domain::sign_in::{SignInParts, SignInService, SignInSettings};
use domain::texting::Texter;
use domain::verified::PhoneTrust;
use leptos::config::LeptosOptions;
use {
    app::state::{AppState, SessionPolicy, SiteSettings},
    domain::DemoOutbox,
};

use crate::branding::Logo;
use crate::config::{Config, SmsProvider, TwoFactorPolicy};
use crate::db::{Db, DemoInbox};
use crate::directory::LdapDirectory;
use crate::metrics::{MeteredAudit, MeteredDirectory, MeteredSms, Metrics};

/// The name cargo-leptos gives the wasm, JS and CSS (`[[workspace.metadata.leptos]] name`).
const OUTPUT_NAME: &str = "latchkey";

/// Every refused password answers no sooner than this: a bind to a real entry and the decoy
/// bind for an unknown login take about as long, and the floor hides what difference is left.
const MIN_PASSWORD_ANSWER_MS: u64 = 300;

/// How long a sign-in flow may take from the password to the last step.
const FLOW_LIFETIME_SECS: i64 = 15 * 60;

/// Events per page of the security page's recent activity.
const ACTIVITY_PAGE_SIZE: u32 = 10;

/// People per page of the administrator's search.
const ADMIN_PAGE_SIZE: usize = 20;

/// Everything the router needs: the state handed to every page and server function, and the
/// two things served beside it.
pub struct Services {
    pub state: AppState,
    /// What the measured ports count, served at `/metrics`.
    pub metrics: Metrics,
    /// The configured logo (`server.logo`), served at `LOGO_PATH`.
    pub logo: Option<Arc<Logo>>,
}

/// Builds every service once. Fails (with what to fix) when the logo, the SMS provider, the
/// phone regions or the accent colour in the configuration cannot be used.
pub fn build(config: &Config, db: Db, directory: LdapDirectory) -> Result<Services, String> {
    let secs = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let leptos_options = LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(config.server.site_root.as_str())
        .site_pkg_dir("pkg")
        .build();
    let demo = config.sms.provider == SmsProvider::Demo;
    // Checked when the configuration loaded; read again here, so a file gone since says so.
    let logo = (!config.server.logo.is_empty())
        .then(|| crate::branding::load_logo(&config.server.logo))
        .transpose()?
        .map(Arc::new);

    // The ports. The services see measured ones; the readiness probe asks the directory itself.
    let metrics = Metrics::default();
    let store = Arc::new(db.clone());
    let directory = Arc::new(directory);
    let measured: Arc<dyn Directory> =
        Arc::new(MeteredDirectory { inner: directory.clone(), metrics: metrics.clone() });
    let audit: Arc<dyn AuditLog> =
        Arc::new(MeteredAudit { inner: db.clone(), metrics: metrics.clone() });
    let sms: Arc<dyn SmsSender> = Arc::new(MeteredSms {
        inner: crate::sms::build(&config.sms, &db)?,
        metrics: metrics.clone(),
    });

    // The keys, policies and rules the services share.
    let hasher = CodeHasher::new(config.security.hmac_keys.clone());
    let phones = config.phone_policy()?;
    let throttle = config.throttle_rules();
    let policy_required = config.policy.two_factor == TwoFactorPolicy::Required;
    let resend_after_secs = secs(config.security.send_cooldown_secs);
    let reauth_window_secs = secs(config.security.reauth_window_secs);
    let phone_trust =
        PhoneTrust::new(store.clone(), config.policy.trust_unverified_directory_phones);
    let texter = Texter::new(
        CodeEngine::new(store.clone(), hasher.clone(), config.code_rules()),
        sms,
        config.sms.template.clone(),
        config.server.product_name.clone(),
        config.public_host(),
    );

    // The services.
    let sign_in = SignInService::new(SignInParts {
        directory: measured.clone(),
        store: store.clone(),
        audit: audit.clone(),
        texter: texter.clone(),
        phones: phones.clone(),
        tokens: hasher.clone(),
        phone_trust: phone_trust.clone(),
        settings: SignInSettings {
            policy_required,
            remember_browser_days: config.security.remember_browser_days,
            throttle,
            flow_lifetime_secs: FLOW_LIFETIME_SECS,
            resend_after_secs,
            min_password_answer: Duration::from_millis(MIN_PASSWORD_ANSWER_MS),
        },
    });
    let security = SecurityService::new(SecurityParts {
        directory: measured.clone(),
        accounts: store.clone(),
        sign_in_store: store.clone(),
        audit: audit.clone(),
        generations: store.clone(),
        texter: texter.clone(),
        phones,
        phone_trust: phone_trust.clone(),
        keys: hasher.clone(),
        settings: SecuritySettings {
            policy_required,
            min_phones: config.policy.min_phones,
            reauth_window_secs,
            resend_after_secs,
            throttle,
            activity_page_size: ACTIVITY_PAGE_SIZE,
        },
    });
    let admin = AdminService::new(AdminParts {
        directory: measured.clone(),
        accounts: store.clone(),
        sign_in_store: store.clone(),
        audit,
        generations: store.clone(),
        trail: store.clone(),
        texter,
        phone_trust,
        keys: hasher,
        reauth_window_secs,
        page_size: ADMIN_PAGE_SIZE,
    });
    let sessions =
        SessionGuard::new(store.clone(), measured, secs(config.security.session_recheck_secs));

    let https = config.is_https();
    let state = AppState {
        leptos_options,
        site: Arc::new(SiteSettings {
            product_name: config.server.product_name.clone(),
            demo_phone: demo,
            // Normalised to `#rrggbb`: it goes into a <style> element verbatim.
            accent_color: crate::branding::check_accent(&config.server.accent_color)?,
            logo: logo.is_some(),
        }),
        database: store.clone(),
        directory,
        demo_outbox: demo.then(|| Arc::new(DemoInbox(db)) as Arc<dyn DemoOutbox>),
        sign_in: Arc::new(sign_in),
        security: Arc::new(security),
        admin: Arc::new(admin),
        sessions: Arc::new(sessions),
        session_policy: SessionPolicy {
            absolute_timeout_secs: secs(config.security.session_absolute_timeout_secs),
            remember_cookie: if https { "__Host-latchkey-remember" } else { "latchkey-remember" }
                .to_owned(),
            secure_cookies: https,
            // Checked when the configuration loaded.
            trusted_proxies: config
                .server
                .trusted_proxies
                .iter()
                .filter_map(|r| IpRange::parse(r).ok())
                .collect(),
        },
    };
    Ok(Services { state, metrics, logo })
}
