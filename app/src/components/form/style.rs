//! The classes of the shared pieces, defined once. Every interactive one has a visible focus
//! ring; every colour pair has a dark-mode twin that keeps WCAG AA contrast.

/// A section of a page (security, admin).
pub const CARD: &str = "rounded-2xl bg-white p-6 shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800";
/// A page that is one card (home, status, sign-in), with more room around its content.
pub const PAGE_CARD: &str = "rounded-2xl bg-white p-8 shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800";

/// The one thing the form is for.
pub const PRIMARY: &str = "inline-flex items-center justify-center rounded-lg bg-accent-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-accent-500 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-accent-600 disabled:opacity-60";
/// Another way on (resend, use another phone, cancel, rename).
pub const SECONDARY: &str = "inline-flex items-center justify-center rounded-lg px-3 py-2 text-sm font-medium text-accent-700 ring-1 ring-inset ring-slate-300 hover:bg-slate-50 focus-visible:outline focus-visible:outline-2 focus-visible:outline-accent-600 disabled:opacity-60 dark:text-accent-300 dark:ring-slate-700 dark:hover:bg-slate-800";
/// Removes or turns off something.
pub const DANGER: &str = "inline-flex items-center justify-center rounded-lg px-3 py-2 text-sm font-medium text-red-700 ring-1 ring-inset ring-red-300 hover:bg-red-50 focus-visible:outline focus-visible:outline-2 focus-visible:outline-red-600 disabled:opacity-60 dark:text-red-300 dark:ring-red-800 dark:hover:bg-red-950";

/// A text input or select.
pub const INPUT: &str = "mt-1 block w-full rounded-lg border-0 px-3 py-2 text-slate-900 ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-inset focus:ring-accent-600 dark:bg-slate-800 dark:text-white dark:ring-slate-700";
/// A field's label.
pub const LABEL: &str = "block text-sm font-medium text-slate-800 dark:text-slate-200";
/// A field's hint, under it.
pub const HINT: &str = "mt-1 text-xs text-slate-500 dark:text-slate-400";
/// A link in text.
pub const LINK: &str = "font-medium text-accent-700 underline dark:text-accent-300";
