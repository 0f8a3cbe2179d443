//! Values for the document head (`<html lang>`, `<title>`, `<meta>`) that follow a page's
//! signals without outliving them.
//!
//! On the server, leptos_meta reads head values after the page's body is rendered, when it
//! injects them into the shell. By then the page's own owner may already be disposed. A plain
//! `move || locale.get()` then panics and the browser gets an empty response. The sign-in and
//! TV pages did this in end-to-end runs. [`head`] reads the signal if it is still alive and
//! otherwise falls back to the value it had when the page was built. On the server that value
//! is the right one, because nothing changes during one render.

use leptos::prelude::*;

/// A head value computed from `memo` by `f`: live while the page lives, and the page's first
/// value once the page's owner is gone.
pub fn head<T, U>(
    memo: Memo<T>,
    f: impl Fn(T) -> U + Clone + Send + Sync + 'static,
) -> impl Fn() -> U + Clone + Send + Sync + 'static
where
    T: Clone + PartialEq + Send + Sync + 'static,
{
    let first = memo.get_untracked();
    move || f(memo.try_get().unwrap_or_else(|| first.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disposed_page_keeps_its_first_value() {
        let owner = Owner::new();
        owner.set();
        let source = RwSignal::new(1);
        let memo = Memo::new(move |_| source.get() * 10);
        let value = head(memo, |v| v + 1);
        assert_eq!(value(), 11);
        source.set(2);
        assert_eq!(value(), 21, "a live page follows its signal");
        drop(owner);
        let fresh = Owner::new();
        fresh.set();
        assert_eq!(
            value(),
            11,
            "a disposed page answers its first value, never panics"
        );
    }
}
