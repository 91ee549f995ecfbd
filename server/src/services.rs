//! Service wiring, in one place and built once: from the configuration, the database and the
//! directory, every port (measured by the metrics decorators), the code hasher, the phone
//! policy, the throttle rules and each domain service is constructed exactly once and shared.
//! The result is the [`AppState`] that pages and server functions reach; the router
//! (`http.rs`) only adds routes and middleware around it.

use std::sync::Arc;
use std::time::Duration;

use domain::admin::{AdminParts, AdminService};
use domain::authenticator::{AuthenticatorParts, Authenticators};
use domain::client_ip::IpRange;
use domain::codes::{CodeEngine, CodeHasher};
use domain::forward_auth::apps::ProtectedApp;
use domain::forward_auth::service::{ForwardAuth, ForwardAuthParts};
use domain::oidc::provider::{OidcProvider, ProviderParts, ProviderSettings, RegisteredClient};
use domain::oidc::request::ClientInfo;
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
    app::state::{AppState, AppStateParts, SessionPolicy, SiteSettings},
    domain::DemoOutbox,
};

use crate::branding::Logo;
use crate::config::{Config, SmsProvider, TwoFactorPolicy};
use crate::db::{Db, DemoInbox};
use crate::directory::LdapDirectory;
use crate::metrics::{MeteredAudit, MeteredDirectory, MeteredSms, Metrics};
use crate::oidc_keys::{KeyRing, KeyRingParts};

/// The name cargo-leptos gives the wasm, JS and CSS (`[[workspace.metadata.leptos]] name`).
const OUTPUT_NAME: &str = "latchkey";

/// Every refused password answers no sooner than this: a bind to a real entry and the decoy
/// bind for an unknown login take about as long, and the floor hides what difference is left.
const MIN_PASSWORD_ANSWER_MS: u64 = 300;

/// How long a sign-in flow may take from the password to the last step.
pub const FLOW_LIFETIME_SECS: i64 = 15 * 60;

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

/// Authenticator apps and recovery codes on `db`, with the configuration's keys, failure lock
/// and methods (the services share one; tests and the demo seed through their own).
pub fn authenticators(config: &Config, db: &Db) -> Arc<Authenticators> {
    let store = Arc::new(db.clone());
    let hasher = CodeHasher::new(config.security.hmac_keys.clone());
    Arc::new(Authenticators::new(AuthenticatorParts {
        store: store.clone(),
        sealer: Arc::new(crate::sealing::Sealer::new(config.security.hmac_keys.clone())),
        codes: CodeEngine::new(store, hasher.clone(), config.code_rules()),
        hasher,
        methods: config.methods(),
        issuer: config.server.product_name.clone(),
    }))
}

/// Builds every service once. Fails (with what to fix) when the logo, the SMS provider, the
/// phone regions or the accent colour in the configuration cannot be used.
pub fn build(config: &Config, db: Db, directory: LdapDirectory) -> Result<Services, String> {
    let secs = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let leptos_options = LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(crate::http::assets::Assets::disk_root(config.site_root_override()).as_str())
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
    let authenticators = authenticators(config, &db);
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
        records: store.clone(),
        audit: audit.clone(),
        texter: texter.clone(),
        authenticators: authenticators.clone(),
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
        records: store.clone(),
        audit: audit.clone(),
        generations: store.clone(),
        texter: texter.clone(),
        authenticators: authenticators.clone(),
        phones,
        phone_trust: phone_trust.clone(),
        keys: hasher.clone(),
        settings: SecuritySettings {
            policy_required,
            min_credentials: config.policy.min_credentials,
            reauth_window_secs,
            resend_after_secs,
            throttle,
            activity_page_size: ACTIVITY_PAGE_SIZE,
        },
    });
    let protected = protected_apps(config)?;
    let oidc = build_provider(
        config,
        &db,
        measured.clone(),
        audit.clone(),
        (&phone_trust, &authenticators),
        &hasher,
        protected.clone(),
    )?;
    let forward_auth = ForwardAuth::new(ForwardAuthParts {
        apps: protected,
        issuer: config.server.public_url.trim_end_matches('/').to_owned(),
        store: Arc::new(db.clone()),
        generations: store.clone(),
        directory: measured.clone(),
        phone_trust: phone_trust.clone(),
        authenticators: authenticators.clone(),
        audit: audit.clone(),
        hasher: hasher.clone(),
        session_absolute_secs: secs(config.security.session_absolute_timeout_secs),
        journey_lifetime_secs: OIDC_REQUEST_LIFETIME_SECS,
        can_enrol: config.oidc.enrol_at_sign_in,
    });
    let admin = AdminService::new(AdminParts {
        directory: measured.clone(),
        accounts: store.clone(),
        sign_in_store: store.clone(),
        records: store.clone(),
        audit,
        generations: store.clone(),
        trail: store.clone(),
        texter,
        authenticators: authenticators.clone(),
        phone_trust,
        keys: hasher,
        reauth_window_secs,
        page_size: ADMIN_PAGE_SIZE,
    });
    let sessions =
        SessionGuard::new(store.clone(), measured, secs(config.security.session_recheck_secs));

    let https = config.is_https();
    let state = AppState::new(AppStateParts {
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
        oidc: Arc::new(oidc),
        forward_auth: Arc::new(forward_auth),
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
    });
    Ok(Services { state, metrics, logo })
}

/// `[[forward_auth.apps]]` as the domain takes them (checked when the configuration loaded).
pub fn protected_apps(config: &Config) -> Result<Vec<ProtectedApp>, String> {
    config
        .forward_auth
        .apps
        .iter()
        .map(|a| {
            let level =
                a.level().ok_or_else(|| format!("forward_auth.apps: level {:?}", a.level))?;
            let mut app = ProtectedApp::new(&a.name, &a.origin, level)
                .map_err(|problem| format!("forward_auth.apps: {:?} {problem}", a.origin))?;
            app.allowed_groups = a.allowed_groups.clone();
            app.max_age_secs = a.max_age_secs.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
            app.remembered_satisfies_code = a.remembered_browser_satisfies_code;
            Ok(app)
        })
        .collect()
}

/// An authorization request waits this long for the person to sign in (as a sign-in flow).
const OIDC_REQUEST_LIFETIME_SECS: i64 = FLOW_LIFETIME_SECS;

/// The OpenID Connect provider: its clients from `[[oidc.clients]]`, its keys (the operator's
/// PEM files, or generated at first start and kept sealed in the database).
fn build_provider(
    config: &Config,
    db: &Db,
    directory: Arc<dyn Directory>,
    audit: Arc<dyn AuditLog>,
    (phone_trust, authenticators): (&PhoneTrust, &Arc<Authenticators>),
    hasher: &CodeHasher,
    protected_apps: Vec<ProtectedApp>,
) -> Result<OidcProvider, String> {
    let secs = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let o = &config.oidc;
    let mut algs = Vec::new();
    let mut clients = Vec::new();
    for c in &o.clients {
        // Checked when the configuration loaded.
        let alg = jose::Alg::parse(&c.signing_alg).ok_or_else(|| {
            format!("oidc.clients: signing_alg {:?} is not supported", c.signing_alg)
        })?;
        if !algs.contains(&alg) {
            algs.push(alg);
        }
        clients.push(RegisteredClient {
            info: ClientInfo {
                id: c.id.clone(),
                name: if c.name.is_empty() { c.id.clone() } else { c.name.clone() },
                confidential: !c.is_public(),
                redirect_uris: c.redirect_uris.clone(),
                post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
                scopes: c.scopes.clone(),
                default_acr: c.default_acr.clone(),
                allowed_groups: c.allowed_groups.clone(),
                refresh_tokens: c.refresh_tokens,
                remembered_satisfies_code: c.remembered_browser_satisfies_code,
            },
            secret: c.secret.clone(),
            signing_alg: alg.as_str().to_owned(),
        });
    }
    let mut operator = Vec::new();
    for file in &o.signing_key_files {
        let pem = std::fs::read_to_string(file)
            .map_err(|e| format!("oidc.signing_key_files: {file} cannot be read: {e}"))?;
        let key = jose::SigningKey::from_pem(&pem)
            .map_err(|e| format!("oidc.signing_key_files: {file}: {e}"))?;
        operator.push(key);
    }
    for alg in &algs {
        if !operator.is_empty() && !operator.iter().any(|k| k.alg() == *alg) {
            return Err(format!(
                "oidc.signing_key_files has no {} key, which a client's signing_alg needs",
                alg.as_str()
            ));
        }
    }
    let absolute = secs(config.security.session_absolute_timeout_secs);
    let id_token = secs(o.id_token_lifetime_secs);
    // A retired key stays published as long as anything it signed can be presented: an ID
    // token until it expires, an id_token_hint while its sign-in may last.
    let keep_secs = absolute.max(id_token).max(secs(o.refresh_token_lifetime_secs));
    let store: Arc<dyn domain::ports::OidcStore> = Arc::new(db.clone());
    let keys = Arc::new(KeyRing::new(KeyRingParts {
        store: store.clone(),
        secrets: config.security.hmac_keys.clone(),
        algs,
        rotation_days: o.key_rotation_days,
        keep_secs,
        operator,
        generate: Arc::new(jose::SigningKey::generate),
    }));
    // Keys are made at first start, not at the first sign-in (an RSA key takes a moment).
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let keys = keys.clone();
        runtime.spawn(async move {
            if let Err(e) = keys.ensure(domain::now_ms() / 1000).await {
                tracing::error!(error = %e, "OpenID Connect signing keys are not ready");
            }
        });
    }
    Ok(OidcProvider::new(ProviderParts {
        settings: ProviderSettings {
            issuer: config.server.public_url.trim_end_matches('/').to_owned(),
            default_acr: o.default_acr.clone(),
            access_token_secs: secs(o.access_token_lifetime_secs),
            id_token_secs: id_token,
            refresh_token_secs: secs(o.refresh_token_lifetime_secs),
            request_lifetime_secs: OIDC_REQUEST_LIFETIME_SECS,
            session_absolute_secs: absolute,
            enrol_at_sign_in: o.enrol_at_sign_in,
        },
        clients,
        store,
        signer: keys,
        directory,
        generations: Arc::new(db.clone()),
        phone_trust: phone_trust.clone(),
        authenticators: authenticators.clone(),
        audit,
        hasher: hasher.clone(),
        protected_apps,
    }))
}
